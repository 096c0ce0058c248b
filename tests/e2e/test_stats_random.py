"""Random Stats API queries (fixed seeds) against the running stack.
- Every combination of metrics, dimensions, nested filters with awkward
  values, date ranges, comparisons, ordering and pagination gets a 200 of
  the right shape or a 400 with a JSON error, never a 5xx; whatever the
  demo key may read of its own site, the same body naming another
  tenant's site is a 404.
- Random nested filter trees over the golden data set answer what the
  independent model, with Plausible's operator semantics, answers."""

import datetime as dt
import itertools
import json
import random
import re
import urllib.parse

import pytest

from beacon import ENV, request
from stats_data import GOALS, as_table, golden, ok, query, rnd, sql_round

METRICS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events", "percentage",
           "conversion_rate", "group_conversion_rate", "total_revenue", "average_revenue", "time_on_page", "scroll_depth"]
DIMENSIONS = ["event:page", "event:hostname", "event:name", "event:goal", "event:props:plan", "event:props:k'\"", "visit:source",
              "visit:referrer", "visit:channel", "visit:utm_medium", "visit:utm_source", "visit:utm_campaign", "visit:utm_content",
              "visit:utm_term", "visit:device", "visit:browser", "visit:browser_version", "visit:os", "visit:os_version",
              "visit:country", "visit:region", "visit:city", "visit:entry_page", "visit:exit_page", "visit:screen", "visit:country_name",
              "visit:region_name", "visit:city_name", "visit:entry_page_hostname", "visit:exit_page_hostname", "time", "time:hour",
              "time:day", "time:week", "time:month"]
OPERATORS = ["is", "is_not", "contains", "contains_not", "matches", "matches_not"]
VALUES = ["/", "/blog", "Signup", "Google", "DE", "pro", "'", "\\", "\u0000", "ü", ".*", "^/b", "(", "a|b", "%", "_",
          "Direct / None", "(not set)", "", "' OR 1=1 --"]
# Metrics that are whole numbers, and those that are percentages.
COUNTS = {"visitors", "visits", "pageviews", "events"}
PERCENTS = {"bounce_rate", "percentage", "conversion_rate", "group_conversion_rate"}


def a_filter(rng, depth=0, prefix=""):
    r = rng.random()
    if depth < 3 and r < 0.15:
        return ["and", [a_filter(rng, depth + 1, prefix) for _ in range(rng.randint(1, 3))]]
    if depth < 3 and r < 0.25:
        return ["or", [a_filter(rng, depth + 1, prefix) for _ in range(rng.randint(1, 3))]]
    if depth < 3 and r < 0.3:
        return ["not", a_filter(rng, depth + 1, prefix)]
    if depth < 3 and r < 0.35:
        # Mostly event dimensions inside, as behavioral filters take.
        return [rng.choice(["has_done", "has_not_done"]), a_filter(rng, depth + 1, "event:" if rng.random() < 0.9 else prefix)]
    dims = [d for d in DIMENSIONS if not d.startswith("time") and d.startswith(prefix)]
    leaf = [rng.choice(OPERATORS), rng.choice(dims), rng.sample(VALUES, rng.randint(1, 3))]
    if rng.random() < 0.3:
        leaf.append({"case_sensitive": rng.random() < 0.5})
    return leaf


def a_body(rng, days):
    d0, d1 = days
    ranges = ["day", "7d", "30d", "month", "12mo", "all", [d0, d1], [d0, d0], [d1, d0],
              [d0 + "T00:00:00Z", d1 + "T12:00:00+02:00"], ["1900-01-01", "2999-12-31"]]
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": rng.sample(METRICS, rng.randint(1, 4)), "date_range": rng.choice(ranges)}
    if rng.random() < 0.7:
        body["dimensions"] = rng.sample(DIMENSIONS, rng.randint(1, 2))
    if rng.random() < 0.6:
        body["filters"] = [a_filter(rng) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.3:
        include = {"total_rows": rng.random() < 0.5, "time_labels": rng.random() < 0.5}
        if rng.random() < 0.6:
            include["comparisons"] = rng.choice([{"mode": "previous_period"}, {"mode": "year_over_year"},
                                                 {"mode": "previous_period", "match_day_of_week": True},
                                                 {"mode": "year_over_year", "match_day_of_week": rng.choice([True, False, "x"])},
                                                 {"mode": "custom", "date_range": [d0, d0]}])
        body["include"] = include
    if rng.random() < 0.3:
        body["order_by"] = [[rng.choice(body["metrics"] + body.get("dimensions", [])), rng.choice(["asc", "desc"])]]
    if rng.random() < 0.3:
        body["pagination"] = {"limit": rng.choice([1, 5, 10000]), "offset": rng.choice([0, 1, 3, 100])}
    if rng.random() < 0.75:
        steer(body)
    return body


def steer(body):
    """Adds what Plausible's rules ask for to the metrics drawn, so that
    most bodies reach the engine; the bodies left as drawn keep testing
    the refusals."""
    metrics, dims = body["metrics"], body.get("dimensions", [])
    filtered = json.dumps(body.get("filters", []))
    needs = [("event:goal", {"conversion_rate", "group_conversion_rate"}), ("event:page", {"scroll_depth", "time_on_page"})]
    for dim, wanting in needs:
        if wanting & set(metrics) and dim not in dims and dim not in filtered:
            dims = dims + [dim]
    if dims:
        body["dimensions"] = dims
    include = body.get("include", {})
    if include.get("time_labels") and not any(d.startswith("time") for d in dims):
        include["time_labels"] = False


def check_answer(body, reply):
    """A 200 has Plausible's shape and sane numbers; a 400 says why in JSON."""
    assert reply.status in (200, 400), (reply.status, reply.body, body)
    answer = reply.json()
    if reply.status == 400:
        assert isinstance(answer.get("error"), str) and answer["error"], (answer, body)
        return
    assert set(answer) >= {"results", "meta", "query"}, answer
    metrics, dims = body["metrics"], body.get("dimensions", [])
    limit = body.get("pagination", {}).get("limit")
    if limit is not None:
        assert len(answer["results"]) <= limit, (answer, body)
    for row in answer["results"]:
        if row["metrics"] is None:  # a timeseries comparison's bucket past the main period's
            assert row["dimensions"] is None and row["comparison"]["dimensions"], (row, body)
            continue
        assert len(row["metrics"]) == len(metrics) and len(row["dimensions"]) == len(dims), (row, body)
        for name, value in zip(metrics, row["metrics"]):
            # No engaged visit, no share, no revenue currency, or a bucket
            # without data in a timeseries comparison.
            if value is None:
                assert name in ("scroll_depth", "time_on_page", "percentage", "total_revenue", "average_revenue",
                                "visit_duration"), (name, body)
                continue
            if name in ("total_revenue", "average_revenue"):
                assert set(value) == {"short", "long", "value", "currency"} and value["currency"] in ("EUR", "USD"), (value, body)
                continue
            assert isinstance(value, (int, float)) and value >= 0, (name, value, body)
            if name in COUNTS:
                assert value == int(value), (name, value, body)
            if name in PERCENTS:
                assert value <= 100, (name, value, body)
        if row.get("comparison"):  # null past the comparison period's buckets
            assert len(row["comparison"]["metrics"]) == len(metrics) and len(row["comparison"]["change"]) == len(metrics), (row, body)


@pytest.fixture(scope="module")
def data():
    return golden()


@pytest.fixture(scope="module")
def days(data):
    return data["range"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_v2_queries_answer_200_or_a_clear_400_and_never_reach_another_tenant(days, seed):
    rng = random.Random(seed)
    answered = 0
    for _ in range(160):
        body = a_body(rng, days)
        reply = query(body)
        check_answer(body, reply)
        if reply.status == 200:
            answered += 1
            # The same question about another tenant's site: nothing.
            theirs = query(dict(body, site_id=ENV["OTHER_DOMAIN"]))
            assert theirs.status == 404 and "results" not in theirs.body, (theirs.status, theirs.body, body)
    # The generator must keep reaching the engine, or it tests only the
    # parser: about 40% of its bodies are answered (68, 61 and 72 of 160
    # for seeds 1-3 when this bound was set; 41, 45 and 45 before `steer`).
    assert answered >= 48, answered


def test_random_v1_queries_answer_json_and_never_a_5xx(days):
    rng = random.Random(11)
    props = ["event:page", "event:name", "event:goal", "visit:source", "visit:country", "visit:exit_page", "event:props:plan",
             "visit:device", "time"]
    values = ["/blog", "Signup", "Google", "DE", "'", "\\", "a|b", "/blog*", "ü", ""]
    statuses = set()
    for _ in range(150):
        endpoint = rng.choice(["aggregate", "timeseries", "breakdown", "realtime/visitors"])
        params = {"site_id": rng.choice([ENV["DEMO_DOMAIN"], ENV["OTHER_DOMAIN"]])}
        params["period"] = rng.choice(["day", "7d", "30d", "month", "6mo", "12mo", "custom", "realtime", "bogus"])
        if rng.random() < 0.5:
            params["date"] = rng.choice([days[0], f"{days[0]},{days[1]}", "bad", f"{days[1]},{days[0]}"])
        params["metrics"] = ",".join(rng.sample(["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events",
                                                 "conversion_rate", "time_on_page", "x"], rng.randint(1, 3)))
        if endpoint == "breakdown" or rng.random() < 0.1:
            params["property"] = rng.choice(props)
        if rng.random() < 0.5:
            params["filters"] = ";".join(f"{rng.choice(props)}{rng.choice(['==', '!=', '~', '!~'])}{'|'.join(rng.sample(values, 2))}"
                                         for _ in range(rng.randint(1, 2)))
        for name, choices in (("compare", ["previous_period", "x"]), ("limit", ["1", "1000", "0", "-1", "x"]), ("page", ["1", "2", "0", "x"])):
            if rng.random() < 0.3:
                params[name] = rng.choice(choices)
        url = ENV["QUERY_URL"] + f"/api/v1/stats/{endpoint}?" + urllib.parse.urlencode(params)
        reply = request("GET", url, None, {"authorization": "Bearer " + ENV["DEMO_API_KEY"]})
        statuses.add(reply.status)
        assert reply.status in (200, 400, 404), (reply.status, reply.body, url)
        answer = json.loads(reply.body)
        if reply.status == 200:
            assert params["site_id"] == ENV["DEMO_DOMAIN"], url
            # Realtime answers a bare count, as Plausible's does.
            assert isinstance(answer, int) if endpoint == "realtime/visitors" else "results" in answer, answer
        else:
            assert isinstance(answer.get("error"), str) and answer["error"], answer
    assert statuses == {200, 400, 404}, statuses


# Dimension -> (the event's stored value, values to try). Blanks are stored
# empty; `is`/`is_not` also accept their display names, as Plausible's do.
FIELDS = {
    "event:page": (lambda e: e["path"], ["/home", "/blog/post-0", "/blog/post-1", "/thanks", "/blog", "home", "BLOG", "/Home",
                                         "^/blog", "post-1$", "^/(home|thanks)$", "[0-9]", "^/blog/.*-1$", "p.st"]),
    "event:name": (lambda e: e["name"], ["pageview", "Signup", "Purchase", "signup", "^S", "up$"]),
    "visit:country": (lambda e: e["country"], ["DE", "US", "FR", "de", "^(D|U)"]),
    "visit:device": (lambda e: e["device"], ["Desktop", "Mobile", "mobile", "top$"]),
    "visit:browser": (lambda e: e["browser"], ["Firefox", "Safari", "fire", "^S"]),
    "visit:source": (lambda e: "" if e["source"] == "Direct / None" else e["source"],
                     ["Google", "newsletter", "Direct / None", "(not set)", "goo", "^n"]),
    # A property the event may lack (None); "(none)" names its absence.
    "event:props:plan": (lambda e: e["props"].get("plan"), ["pro", "free", "(none)", "PRO", "r", "n", "^f", "e$", "^\\(n"]),
}
BLANKS = {"Direct / None", "(not set)"}


def leaf_rule(op, dim, values, case_sensitive):
    """The model's predicate for one filter leaf (Plausible's semantics)."""
    stored = FIELDS[dim][0]
    fold = (lambda x: x) if case_sensitive else str.lower

    def hit(e):
        raw = stored(e)
        if raw is None:
            # Only `is` "(none)" picks an event without the property, and
            # only `is_not` without "(none)" keeps it.
            return "(none)" in values if op in ("is", "is_not") else None
        if op in ("is", "is_not"):
            wanted = {"" if v in BLANKS else fold(v) for v in values}
            return fold(raw) in wanted
        if op in ("contains", "contains_not"):
            return any(fold(v) in fold(raw) for v in values)
        # As ClickHouse's `match`: `.` also matches a line break.
        return any(re.search(v, raw, re.S if case_sensitive else re.S | re.I) for v in values)

    def keep(e):
        h = hit(e)
        if h is None:  # a substring or pattern needs the property there
            return False
        return h if op in ("is", "contains", "matches") else not h

    return keep


# Breakdowns the filter-tree tests check, with the event's value for each.
BREAKDOWNS = {"visit:country": lambda e: e["country"], "event:page": lambda e: e["path"], "visit:source": lambda e: e["source"]}


def random_tree(rng, depth=0, fields=FIELDS):
    """A filter tree over `fields` and the model's predicate for it."""
    r = rng.random()
    if depth < 2 and r < 0.3:
        parts = [random_tree(rng, depth + 1, fields) for _ in range(rng.randint(2, 3))]
        if r < 0.15:
            return ["and", [f for f, _ in parts]], lambda e: all(k(e) for _, k in parts)
        return ["or", [f for f, _ in parts]], lambda e: any(k(e) for _, k in parts)
    if depth < 2 and r < 0.4:
        f, k = random_tree(rng, depth + 1, fields)
        return ["not", f], lambda e: not k(e)
    op = rng.choice(OPERATORS)
    dim = rng.choice(sorted(fields))
    pool = FIELDS[dim][1]
    if op.startswith("matches"):
        values = rng.sample(pool, rng.randint(1, 2))
    else:
        values = rng.sample([v for v in pool if v in ("(none)", "(not set)") or not re.search(r"[\^$|()\[]", v)], rng.randint(1, 2))
    case_sensitive = rng.random() < 0.6
    leaf = [op, dim, values] + ([] if case_sensitive else [{"case_sensitive": False}])
    return leaf, leaf_rule(op, dim, values, case_sensitive)


@pytest.mark.parametrize("seed", [21, 22])
def test_random_filter_trees_answer_what_the_model_answers(data, seed):
    rng = random.Random(seed)
    m = data["model"]
    metrics = ["visitors", "pageviews", "events"]
    for _ in range(40):
        tree, keep = random_tree(rng)
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": metrics, "filters": [tree]}
        a = m.aggregate(keep)
        got = ok(query(body))["results"][0]["metrics"]
        assert got == [a[x] for x in metrics], (tree, got, a)
        dim = rng.choice(sorted(BREAKDOWNS))
        got = as_table(ok(query(dict(body, dimensions=[dim]))))
        want = m.breakdown(BREAKDOWNS[dim], metrics, keep)
        assert got == want, (tree, dim, got, want)


@pytest.mark.parametrize("seed", [31, 32])
def test_random_filter_trees_pick_the_visits_the_model_picks(data, seed):
    # Session metrics count the visits with at least one event the filter
    # tree keeps (visit attributes are the same on every event of a visit).
    rng = random.Random(seed)
    m = data["model"]
    metrics = ["visits", "bounce_rate", "visit_duration"]
    for _ in range(40):
        tree, keep = random_tree(rng)
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": metrics, "filters": [tree]}
        touched = [s for s in m.sessions if any(keep(e) for e in s)]
        a = m.aggregate(keep_session=lambda s: s in touched)
        got = ok(query(body))["results"][0]["metrics"]
        assert got == [a[x] for x in metrics], (tree, got, a)
        dim = rng.choice(["visit:country", "visit:source", "visit:device", "visit:entry_page"])
        key = {"visit:country": "country", "visit:source": "source", "visit:device": "device"}.get(dim)
        group = (lambda s: s[0][key]) if key else (lambda s: next(e["path"] for e in s if e["name"] == "pageview"))
        want = {}
        for k in {group(s) for s in touched}:
            a = m.aggregate(keep_session=lambda s: s in touched and group(s) == k)
            want[k] = [a[x] for x in metrics]
        got = as_table(ok(query(dict(body, dimensions=[dim]))))
        assert got == want, (tree, dim, got, want)


def sessions_of(m):
    """Each event's visit in the model, by the event's identity."""
    return {id(e): s for s in m.sessions for e in s}


def test_random_entry_and_exit_page_filters_pick_what_the_model_picks(data):
    # A visit's entry page is its first pageview, its exit page its last;
    # with an event filter tree beside, both must hold.
    rng = random.Random(41)
    m = data["model"]
    visit_of = sessions_of(m)
    views = lambda s, key: [e[key] for e in s if e["name"] == "pageview"]
    pages = {"visit:entry_page": lambda s: views(s, "path")[0], "visit:exit_page": lambda s: views(s, "path")[-1],
             "visit:entry_page_hostname": lambda s: views(s, "host")[0], "visit:exit_page_hostname": lambda s: views(s, "host")[-1]}
    domain = ENV["DEMO_DOMAIN"]
    for _ in range(60):
        dim = rng.choice(sorted(pages))
        op = rng.choice(OPERATORS)
        if dim.endswith("_hostname"):
            pool = [domain, f"shop.{domain}", f"blog.{domain}", "blog", "SHOP"] + (["^shop", "^[a-z-]+[.]example$"] if op.startswith("matches") else [])
        else:
            pool = ["/home", "/thanks", "/blog/post-0", "/blog/post-1", "blog"] + (["^/h", "s$"] if op.startswith("matches") else [])
        values = rng.sample(pool, rng.randint(1, 2))
        rule = leaf_rule(op, "event:page", values, True)
        on_visit = lambda s, rule=rule, page=pages[dim]: rule({"path": page(s)})
        tree, keep = random_tree(rng) if rng.random() < 0.6 else (None, lambda e: True)
        filters = [[op, dim, values]] + ([tree] if tree else [])
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "filters": filters}
        a = m.aggregate(lambda e: keep(e) and on_visit(visit_of[id(e)]))
        got = ok(query(dict(body, metrics=["visitors", "pageviews", "events"])))["results"][0]["metrics"]
        assert got == [a["visitors"], a["pageviews"], a["events"]], (filters, got, a)
        picked = [s for s in m.sessions if on_visit(s) and any(keep(e) for e in s)]
        a = m.aggregate(keep_session=lambda s: s in picked)
        got = ok(query(dict(body, metrics=["visits", "bounce_rate", "visit_duration"])))["results"][0]["metrics"]
        assert got == [a["visits"], a["bounce_rate"], a["visit_duration"]], (filters, got, a)


def test_random_behavioral_filters_pick_the_visits_the_model_picks(data):
    # `has_done` keeps every event and visit of the visits with an event the
    # inner tree (event dimensions only) keeps; `has_not_done` the others.
    # Beside them, an ordinary tree filters as usual.
    rng = random.Random(51)
    m = data["model"]
    visit_of = sessions_of(m)
    events_only = {d: f for d, f in FIELDS.items() if d.startswith("event:")}
    split = 0
    for _ in range(30):
        inner, did = random_tree(rng, fields=events_only)
        op = rng.choice(["has_done", "has_not_done"])
        done = {id(s) for s in m.sessions if any(did(e) for e in s) == (op == "has_done")}
        behavioral = [op, inner]
        if rng.random() < 0.3:
            behavioral = ["not", behavioral]
            done = {id(s) for s in m.sessions} - done
        split += 0 < len(done) < len(m.sessions)
        tree, keep = random_tree(rng) if rng.random() < 0.5 else (None, lambda e: True)
        filters = [behavioral] + ([tree] if tree else [])
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "filters": filters}
        kept = lambda e: id(visit_of[id(e)]) in done and keep(e)
        a = m.aggregate(kept)
        metrics = ["visitors", "pageviews", "events"]
        got = ok(query(dict(body, metrics=metrics)))["results"][0]["metrics"]
        assert got == [a[x] for x in metrics], (filters, got, a)
        dim = rng.choice(sorted(BREAKDOWNS))
        got = as_table(ok(query(dict(body, metrics=metrics, dimensions=[dim]))))
        assert got == m.breakdown(BREAKDOWNS[dim], metrics, kept), (filters, dim, got)
        picked = [s for s in m.sessions if any(kept(e) for e in s)]
        a = m.aggregate(keep_session=lambda s: s in picked)
        # (Views per visit refuses a page filter outside behavioral ones.)
        metrics = ["visits", "bounce_rate", "visit_duration"] + ([] if "event:page" in json.dumps(tree) else ["views_per_visit"])
        got = ok(query(dict(body, metrics=metrics)))["results"][0]["metrics"]
        assert got == [a[x] for x in metrics], (filters, got, a)
    # Many inner trees pick some visits and leave others (13 of 30 here).
    assert split >= 10, split


def props_in(tree):
    """Where a tree filters a property: "top" (it is one), "nested" or None."""
    if tree[0] in ("and", "or"):
        return "nested" if any(props_in(t) for t in tree[1]) else None
    if tree[0] == "not":
        return "nested" if props_in(tree[1]) else None
    return "top" if tree[1].startswith("event:props:") else None


def test_random_filter_trees_under_goals_props_and_conversion_rates(data):
    # The demo site's goals (scripts/seed.sql). As Plausible: conversion
    # rate divides converted visitors by all visitors, group conversion rate
    # by the group's; both without the goal and top-level property filters.
    # A property filter nested in the tree is refused with either metric.
    rng = random.Random(42)
    m = data["model"]
    refused = 0
    for _ in range(30):
        tree, keep = random_tree(rng)
        props = props_in(tree)
        base = (lambda e: True) if props == "top" else keep
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "filters": [tree]}
        if props == "nested":
            refused += 1
            resp = query(dict(body, metrics=["conversion_rate"], dimensions=["event:goal"]))
            assert resp.status == 400 and "top level" in resp.json()["error"], (tree, resp.body)
            continue
        everyone = m.aggregate(base)["visitors"]
        want = {}
        for name, goal in GOALS.items():
            a = m.aggregate(lambda e: keep(e) and goal(e))
            if a["visitors"]:
                want[name] = [a["visitors"], a["events"], sql_round(a["visitors"] / everyone * 100, 2)]
        got = as_table(ok(query(dict(body, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"]))))
        assert got == want, (tree, got, want)
        got = as_table(ok(query(dict(body, metrics=["visitors", "events"], dimensions=["event:props:plan"]))))
        assert got == m.breakdown(lambda e: e["props"].get("plan", "(none)"), ["visitors", "events"], keep), tree
        name = rng.choice(sorted(GOALS))
        want = {}
        for country in {e["country"] for e in m.events}:
            converted = m.aggregate(lambda e: keep(e) and GOALS[name](e) and e["country"] == country)["visitors"]
            if converted:
                group = m.aggregate(lambda e: base(e) and e["country"] == country)["visitors"]
                want[country] = [converted, sql_round(converted / everyone * 100, 2), sql_round(converted / group * 100, 2)]
        got = as_table(ok(query(dict(body, metrics=["visitors", "conversion_rate", "group_conversion_rate"], dimensions=["visit:country"],
                                     filters=[tree, ["is", "event:goal", [name]]]))))
        assert got == want, (tree, name, got, want)
    assert 0 < refused < 30


def test_a_page_of_any_breakdown_is_that_slice_of_the_whole_ranking(data):
    # Some rankings are cut in SQL, others after merging: a page must be the
    # same rows either way, whatever the order and filters.
    rng = random.Random(43)
    dims = ["event:page", "visit:country", "visit:source", "visit:browser", "event:name", "event:props:plan", "visit:entry_page",
            "visit:exit_page", "time:hour", "visit:city"]
    compared = 0
    for _ in range(60):
        metrics = rng.sample(["visitors", "pageviews", "events", "visits", "bounce_rate"], rng.randint(1, 2))
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": metrics, "dimensions": rng.sample(dims, rng.randint(1, 2))}
        if rng.random() < 0.5:
            body["filters"] = [random_tree(rng)[0]]
        if rng.random() < 0.5:
            body["order_by"] = [[rng.choice(metrics + body["dimensions"]), rng.choice(["asc", "desc"])]]
        whole = query(dict(body, pagination={"limit": 10000, "offset": 0}))
        if whole.status != 200:
            continue
        limit, offset = rng.randint(1, 4), rng.randint(0, 5)
        page = ok(query(dict(body, pagination={"limit": limit, "offset": offset})))
        assert page["results"] == whole.json()["results"][offset:offset + limit], (body, limit, offset)
        compared += 1
    assert compared >= 30, compared


def plausible_change(metric, old, new):
    """Plausible's `Compare.calculate_change`: the bounce rate's difference
    (none from 0), the conversion rate's, else the percent change."""
    if old is None or new is None:
        return None
    if metric == "conversion_rate":
        return rnd(new - old, 1)
    if metric == "bounce_rate":
        return new - old if old > 0 else None
    if old == 0:
        return 100 if new > 0 else 0
    return rnd((new - old) / old * 100)


def test_a_comparison_answers_what_its_own_range_answers(data):
    # The comparison of each row is the same query asked of the other
    # range, for the same dimension values (defaults where it has none); by
    # day, for the day at the same place, every day of either range a row.
    rng = random.Random(44)
    d0, d1 = data["range"]
    dims = ["event:page", "visit:country", "visit:source", "event:props:plan", "visit:entry_page", "visit:exit_page", "visit:device",
            "time:day"]
    compared = by_day = 0
    for _ in range(50):
        metrics = rng.sample(["visitors", "pageviews", "events", "visits", "bounce_rate", "visit_duration"], rng.randint(1, 3))
        body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": metrics}
        if rng.random() < 0.7:
            body["dimensions"] = [rng.choice(dims)]
        if rng.random() < 0.5:
            body["filters"] = [random_tree(rng)[0]]
        main, other = rng.choice([([d1, d1], [d0, d0]), ([d0, d1], [d0, d0]), ([d0, d0], [d1, d1])])
        reply = query(dict(body, date_range=main, include={"comparisons": {"mode": "custom", "date_range": other}}))
        if reply.status != 200:
            continue
        then = {tuple(r["dimensions"]): r["metrics"] for r in ok(query(dict(body, date_range=other)))["results"]}
        # A row the other range lacks reads Plausible's defaults.
        defaults = [None if m == "visit_duration" else 0 for m in metrics]
        rows = reply.json()["results"]
        if body.get("dimensions") == ["time:day"]:
            days = lambda r: [x.isoformat() for x in (dt.date.fromisoformat(r[0]) + dt.timedelta(days=n)
                                                      for n in range((dt.date.fromisoformat(r[1]) - dt.date.fromisoformat(r[0])).days + 1))]
            mine, theirs = days(main), days(other)
            assert len(rows) == max(len(mine), len(theirs)), (body, main, other, rows)
            now = {tuple(r["dimensions"]): r["metrics"] for r in ok(query(dict(body, date_range=main)))["results"]}
            for i, row in enumerate(rows):
                here = mine[i] if i < len(mine) else None
                there = theirs[i] if i < len(theirs) else None
                assert row["dimensions"] == ([here] if here else None), (body, main, other, row)
                assert row["metrics"] == (now.get((here,), defaults) if here else None), (body, main, other, row)
                assert (row["comparison"] or {}).get("dimensions") == ([there] if there else None), (body, main, other, row)
                if there:
                    assert row["comparison"]["metrics"] == then.get((there,), defaults), (body, main, other, row)
                    want = ([plausible_change(m, old, new) for m, old, new in zip(metrics, row["comparison"]["metrics"], row["metrics"])]
                            if here else None)
                    assert row["comparison"]["change"] == want, (body, main, other, row)
            compared += 1
            by_day += 1
            continue
        for row in rows:
            assert row["comparison"]["metrics"] == then.get(tuple(row["dimensions"]), defaults), (body, main, other, row)
            want = [plausible_change(m, old, new) for m, old, new in zip(metrics, row["comparison"]["metrics"], row["metrics"])]
            assert row["comparison"]["change"] == want, (body, main, other, row)
        compared += 1
    assert compared >= 20 and by_day >= 3, (compared, by_day)


def glob(pattern):
    """A v1 wildcard as a regex, as Plausible's `page_regex` makes it: `*`
    and `**` are any run of characters, slashes too."""
    return "^" + ".*".join(re.escape(part) for part in pattern.replace("**", "*").split("*")) + "$"


def test_random_v1_filters_answer_what_the_model_answers(data):
    # v1's filter syntax: `;` joins, `|` lists values, `*`/`**` are
    # wildcards in == and !=, `~` means contains.
    rng = random.Random(45)
    m = data["model"]
    fields = {"event:page": (lambda e: e["path"], ["/home", "/blog/*", "/blog/**", "/b*", "/thanks", "*/post-1", "/home|/thanks"]),
              "visit:country": (lambda e: e["country"], ["DE", "US", "FR", "DE|FR"]),
              "event:name": (lambda e: e["name"], ["pageview", "Signup", "Sign*", "Purchase|Signup"]),
              "visit:browser": (lambda e: e["browser"], ["Firefox", "Safari", "Fire*"])}
    for _ in range(40):
        parts, rules = [], []
        for _ in range(rng.randint(1, 2)):
            dim = rng.choice(sorted(fields))
            stored, pool = fields[dim]
            op, values = rng.choice(["==", "!=", "~"]), rng.choice(pool).split("|")
            if op == "~":
                values = [v.replace("*", "") for v in values]
                rule = lambda e, s=stored, vs=values: any(v in s(e) for v in vs)
            else:
                hit = lambda e, s=stored, vs=values: any(re.search(glob(v), s(e)) if "*" in v else s(e) == v for v in vs)
                rule = hit if op == "==" else (lambda e, h=hit: not h(e))
            parts.append(f"{dim}{op}{'|'.join(values)}")
            rules.append(rule)
        params = {"site_id": ENV["DEMO_DOMAIN"], "period": "custom", "date": ",".join(data["range"]), "metrics": "visitors,pageviews,events",
                  "filters": ";".join(parts)}
        reply = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/aggregate?" + urllib.parse.urlencode(params), None,
                        {"authorization": "Bearer " + ENV["DEMO_API_KEY"]})
        assert reply.status == 200, (reply.status, reply.body, params)
        got = [reply.json()["results"][k]["value"] for k in ("visitors", "pageviews", "events")]
        a = m.aggregate(lambda e: all(r(e) for r in rules))
        assert got == [a["visitors"], a["pageviews"], a["events"]], (params["filters"], got, a)


def test_random_trees_by_exit_page_count_each_visit_at_its_last_page(data):
    # Visitors, visits and bounce rate by exit page, over the visits with an
    # event the tree keeps: each visit counts at its last pageview only.
    rng = random.Random(46)
    m = data["model"]
    last_page = lambda s: [e["path"] for e in s if e["name"] == "pageview"][-1]
    for _ in range(25):
        tree, keep = random_tree(rng)
        body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": ["visitors", "visits", "bounce_rate"],
                "dimensions": ["visit:exit_page"], "filters": [tree]}
        picked = [s for s in m.sessions if any(keep(e) for e in s)]
        want = {}
        for page in {last_page(s) for s in picked}:
            visits = [s for s in picked if last_page(s) == page]
            a = m.aggregate(keep_session=lambda s: s in visits)
            want[page] = [len({s[0]["vid"] for s in visits}), a["visits"], a["bounce_rate"]]
        assert as_table(ok(query(body))) == want, tree


# Dimension -> the event's value as the Stats API names it.
KEYS = {
    "event:page": lambda e: e["path"], "event:name": lambda e: e["name"], "event:hostname": lambda e: e["host"],
    "visit:source": lambda e: e["source"], "visit:country": lambda e: e["country"], "visit:device": lambda e: e["device"],
    "visit:browser": lambda e: e["browser"], "event:props:plan": lambda e: e["props"].get("plan", "(none)"),
    "visit:utm_source": lambda e: e["utm_source"], "visit:os": lambda e: e["os"], "visit:city": lambda e: e["city"],
    "visit:region": lambda e: e["region"], "visit:referrer": lambda e: e["referrer"], "visit:channel": lambda e: e["channel"],
    "visit:os_version": lambda e: e["os_version"], "visit:browser_version": lambda e: e["browser_version"],
}


def dimension_cases(data, rng, names, sizes, per_size, metrics):
    """Bodies grouping by `per_size` random combinations of `names` of each
    size, half under a random filter tree: (body, the combination's value of
    an event, the tree's predicate)."""
    for n in sizes:
        combos = list(itertools.combinations(sorted(names), n))
        rng.shuffle(combos)
        for dims in combos[:per_size]:
            tree, keep = (None, lambda e: True) if rng.random() < 0.5 else random_tree(rng)
            body = {"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": metrics, "dimensions": list(dims)}
            if tree:
                body["filters"] = [tree]
            value = (lambda e, d=dims[0]: KEYS[d](e)) if n == 1 else (lambda e, ds=dims: tuple(KEYS[d](e) for d in ds))
            yield body, value, keep


def test_breakdowns_by_up_to_three_dimensions_answer_what_the_model_answers(data):
    # Event metrics of every event in each combination of values.
    m = data["model"]
    metrics = ["visitors", "pageviews", "events"]
    bad = []
    for body, value, keep in dimension_cases(data, random.Random(5), KEYS, (1, 2, 3), 60, metrics):
        got, want = as_table(ok(query(body))), m.breakdown(value, metrics, keep)
        if got != want:
            bad.append((body, got, want))
    assert not bad, "\n".join(map(str, bad[:5])) + f"\n{len(bad)} bad"


VISIT = ["visit:source", "visit:country", "visit:device", "visit:browser", "visit:utm_source", "visit:os", "visit:city", "visit:channel"]


def test_visit_metrics_by_two_visit_dimensions_answer_what_the_model_answers(data):
    # Visit attributes are the same on every event of a visit.
    m = data["model"]
    metrics = ["visits", "bounce_rate", "visit_duration", "visitors", "pageviews"]
    bad = []
    for body, value, keep in dimension_cases(data, random.Random(7), VISIT, (1, 2), 25, metrics):
        touched = [s for s in m.sessions if any(keep(e) for e in s)]
        want = {}
        for k in {value(s[0]) for s in touched}:
            a = m.aggregate(keep_event=lambda e: keep(e) and value(e) == k, keep_session=lambda s: s in touched and value(s[0]) == k)
            want[k] = [a[x] for x in metrics]
        got = as_table(ok(query(body)))
        if got != want:
            bad.append((body, got, want))
    assert not bad, "\n".join(map(str, bad[:5])) + f"\n{len(bad)} bad"


def test_an_event_dimension_beside_the_exit_page_is_a_400_naming_both(data):
    # Sign rows keep other things in the event slots; there is no join.
    for dims in (["event:goal", "visit:exit_page"], ["visit:exit_page_hostname", "event:name"]):
        reply = query({"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"], "metrics": ["visitors"], "dimensions": dims})
        assert reply.status == 400 and "cannot be combined" in reply.json()["error"], (dims, reply.status, reply.body)
