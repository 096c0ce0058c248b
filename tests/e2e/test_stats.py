"""The Stats API end to end: golden answers for a generated data set sent
through the real ingest endpoint (expected values computed by an
independent model), cross-tenant isolation for every endpoint, hostile
input, auth and the rate limit."""

import calendar
import datetime as dt
import http.client
import json
import time
import urllib.parse
import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor

import pytest

from beacon import ENV, FIREFOX, request, send, session_cookie, sql, upgrade_headers, wait_rows
from sessions import current_visitors_bounds, new_visitor
from stats_data import GOALS, MIN, as_table, at, ended, golden, ok, pick_days, query, rnd, send_all, sql_round, wait_landed

V1 = ["aggregate", "timeseries", "breakdown"]


def utc(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)


def v1(endpoint, params, key=None):
    url = ENV["QUERY_URL"] + f"/api/v1/stats/{endpoint}?" + urllib.parse.urlencode(params)
    return request("GET", url, None, {"authorization": "Bearer " + (key or ENV["DEMO_API_KEY"])})


@pytest.fixture(scope="module")
def data():
    return golden()


def q(data, **body):
    return ok(query(dict({"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"]}, **body)))


ALL = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"]


def test_a_visit_enters_on_its_first_pageview_and_one_without_is_on_no_page():
    """Plausible's entry page is a visit's first pageview: a visit begun by
    a custom event enters on the pageview after it, and a visit with no
    pageview is in no entry or exit page breakdown (it is still a visit)."""
    d0, _ = pick_days()
    net = f"198.18.{uuid.uuid4().int % 250 + 1}"
    script = [(f"{net}.1", at(d0, 10), "Signup", "/signup-first"), (f"{net}.1", at(d0, 10, 1), "pageview", "/landing"),
              (f"{net}.2", at(d0, 11), "Ping", "/only-custom")]
    for n, (ip, t, name, path) in enumerate(script, 1):
        r = send({"n": name, "u": f"https://{ENV['DEMO_DOMAIN']}{path}"}, ip=ip, ua=FIREFOX, headers={"x-beacon-dev-time": str(t)})
        assert r.status == 202, (r.status, r.body)
        wait_landed(d0, d0, n)
    day = {"site_id": ENV["DEMO_DOMAIN"], "date_range": [d0.isoformat(), d0.isoformat()]}
    for dim in ["visit:entry_page", "visit:exit_page"]:
        got = as_table(ok(query(dict(day, metrics=["visitors", "visits", "bounce_rate"], dimensions=[dim]))))
        assert got == {"/landing": [1, 1, 0]}, (dim, got)
    assert ok(query(dict(day, metrics=["visitors", "visits", "pageviews"])))["results"][0]["metrics"] == [2, 2, 1]


def test_a_bounce_has_under_two_pageviews_and_no_interactive_custom_event():
    """Plausible's bounce since v3.1: a visit of one interactive custom
    event is no bounce, and a pageview after a non-interactive custom
    event leaves a bounce. Each visit has its own utm_source to tell them
    apart."""
    d0, _ = pick_days()
    net = f"198.18.{uuid.uuid4().int % 250 + 1}"
    script = [("a", 10, [("Autoplay", False), ("pageview", True)]), ("b", 11, [("Signup", True)]),
              ("c", 12, [("pageview", True), ("Autoplay", False)]), ("d", 13, [("pageview", True), ("pageview", True)])]
    n = 0
    for tag, hour, events in script:
        for minute, (name, interactive) in enumerate(events):
            payload = {"n": name, "u": f"https://{ENV['DEMO_DOMAIN']}/bounce-{tag}?utm_source=bounce-{tag}"}
            if not interactive:
                payload["i"] = False
            r = send(payload, ip=f"{net}.{hour}", ua=FIREFOX, headers={"x-beacon-dev-time": str(at(d0, hour, minute))})
            assert r.status == 202, (r.status, r.body)
            n += 1
            wait_landed(d0, d0, n)
    got = as_table(ok(query({"site_id": ENV["DEMO_DOMAIN"], "date_range": [d0.isoformat(), d0.isoformat()],
                             "metrics": ["visits", "bounce_rate"], "dimensions": ["visit:utm_source"]})))
    assert got == {"bounce-a": [1, 100], "bounce-b": [1, 0], "bounce-c": [1, 100], "bounce-d": [1, 0]}, got


def test_aggregate_every_core_metric(data):
    expected = data["model"].aggregate()
    got = q(data, metrics=ALL)
    assert got["results"] == [{"metrics": [expected[m] for m in ALL], "dimensions": []}]
    assert got["query"]["date_range"][0].startswith(data["range"][0])


def test_all_starts_on_the_day_of_the_sites_first_event(data):
    # Read from the stand-in: the demo site's (UTC) earliest event row
    # within retention, 92 days back from today.
    today = dt.datetime.now(dt.timezone.utc).date()
    lo = int(dt.datetime.combine(today - dt.timedelta(days=92), dt.time(), dt.timezone.utc).timestamp())
    first = sql(f"SELECT min(toUnixTimestamp(timestamp)) AS t FROM EVENTS WHERE index1 = '{ENV['DEMO_SITE_ID']}' "
                f"AND double1 = 1 AND timestamp >= toDateTime({lo})")[0]["t"]
    day = dt.datetime.fromtimestamp(int(first), dt.timezone.utc).date()
    assert day <= data["d0"]
    got = ok(query({"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "date_range": "all"}))
    # The demo site is in `UTC`, which Elixir writes as +00:00 (`Z` is
    # for `Etc/UTC` only).
    assert got["query"]["date_range"] == [f"{day}T00:00:00+00:00", f"{today}T23:59:59+00:00"]
    # v1's timeseries by `all` goes by what the range spans: months once it
    # spans a month (the data set lies 10-80 days back), from that month.
    ts = ok(v1("timeseries", {"site_id": ENV["DEMO_DOMAIN"], "period": "all", "metrics": "visitors"}))
    year, month = day.year + day.month // 12, day.month % 12 + 1
    spans_a_month = dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1])) <= today
    dates = [r["date"] for r in ts["results"]]
    if spans_a_month:
        assert dates[0] == day.replace(day=1).isoformat() and all(d.endswith("-01") for d in dates), dates
    else:
        assert dates[0] == day.isoformat() and len(dates) == (today - day).days + 1, dates


def test_breakdowns_by_page_source_country_device_browser(data):
    m = data["model"]
    assert as_table(q(data, metrics=["visitors", "pageviews"], dimensions=["event:page"])) == m.breakdown(
        lambda e: e["path"], ["visitors", "pageviews"])
    for dim, key in [("visit:source", "source"), ("visit:country", "country"), ("visit:device", "device"), ("visit:browser", "browser")]:
        got = as_table(q(data, metrics=["visitors", "events"], dimensions=[dim]))
        assert got == m.breakdown(lambda e: e[key], ["visitors", "events"]), dim


def test_plausibles_other_names_for_device_city_country_and_region(data):
    # visit:screen is the device; visit:city_name the city (Beacon keeps
    # names); visit:country_name and visit:region_name the English names of
    # the stored codes.
    m = data["model"]
    countries = {"DE": "Germany", "US": "United States", "FR": "France"}
    regions = {"DE-BE": "Berlin", "US-CA": "California", "FR-IDF": "Île-de-France"}
    for dim, key in [("visit:screen", lambda e: e["device"]), ("visit:city_name", lambda e: e["city"]),
                     ("visit:country_name", lambda e: countries[e["country"]]),
                     ("visit:region_name", lambda e: regions[e["region"]])]:
        want = m.breakdown(key, ["visitors", "pageviews"])
        # Each place's name beside its code (one row per name).
        code = {"visit:country_name": ("visit:country", countries), "visit:region_name": ("visit:region", regions)}.get(dim)
        dims = [dim, code[0]] if code else [dim]
        got = q(data, metrics=["visitors", "pageviews"], dimensions=dims, order_by=[[dim, "asc"]])
        assert {r["dimensions"][0]: r["metrics"] for r in got["results"]} == want, dim
        assert [r["dimensions"][0] for r in got["results"]] == sorted(want), dim
        assert all(code[1][r["dimensions"][1]] == r["dimensions"][0] for r in got["results"] if code)
    cases = [(["is", "visit:country_name", ["Germany", "France"]], lambda e: e["country"] in ("DE", "FR")),
             (["contains", "visit:country_name", ["united"], {"case_sensitive": False}], lambda e: e["country"] == "US"),
             (["matches_not", "visit:country_name", ["^Fr"]], lambda e: e["country"] != "FR"),
             (["is", "visit:region_name", ["California", "Berlin"]], lambda e: e["region"] in ("US-CA", "DE-BE")),
             (["contains_not", "visit:region_name", ["france"], {"case_sensitive": False}], lambda e: e["region"] != "FR-IDF"),
             (["matches", "visit:region_name", ["^Ca.*a$"]], lambda e: e["region"] == "US-CA"),
             (["is", "visit:screen", ["Mobile"]], lambda e: e["device"] == "Mobile"),
             (["contains", "visit:city_name", ["Ber"]], lambda e: e["city"] == "Berlin")]
    for f, keep in cases:
        got = q(data, metrics=["visitors", "visits", "bounce_rate"], filters=[f])["results"][0]["metrics"]
        a = m.aggregate(keep, keep_session=lambda s: keep(s[0]))
        assert got == [a["visitors"], a["visits"], a["bounce_rate"]], f


@pytest.mark.parametrize("dim", ["referrer", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
                                 "browser_version", "os", "os_version", "region", "city"])
def test_every_other_visit_dimension(data, dim):
    got = as_table(q(data, metrics=["visitors", "pageviews"], dimensions=[f"visit:{dim}"]))
    assert got == data["model"].breakdown(lambda e: e[dim], ["visitors", "pageviews"])
    # The same value works as a filter, blanks' placeholder included.
    value, (visitors, _) = sorted(got.items())[0]
    f = q(data, metrics=["visitors"], filters=[["is", f"visit:{dim}", [value]]])
    assert f["results"][0]["metrics"] == [visitors], (dim, value)


def test_session_metrics_by_visit_dimension(data):
    m = data["model"]
    got = as_table(q(data, metrics=["visits", "bounce_rate", "visit_duration"], dimensions=["visit:country"]))
    for country in ["DE", "US", "FR"]:
        a = m.aggregate(keep_session=lambda s: s[0]["country"] == country)
        assert got[country] == [a["visits"], a["bounce_rate"], a["visit_duration"]], country


def plausible_dates(name, today):
    """The first and last date Plausible gives a named range on `today`,
    worked out here from the calendar: `Nd` is the n days before today and
    `Nmo` the n whole months before this one (Plausible's QueryPeriod)."""
    def month_start(months_back):
        y, m = divmod(today.year * 12 + today.month - 1 - months_back, 12)
        return dt.date(y, m + 1, 1)
    if name == "day":
        return today, today
    if name.endswith("mo"):
        return month_start(int(name[:-2])), month_start(0) - dt.timedelta(days=1)
    if name.endswith("d"):
        return today - dt.timedelta(days=int(name[:-1])), today - dt.timedelta(days=1)
    return {"month": (month_start(0), month_start(-1) - dt.timedelta(days=1)),
            "year": (dt.date(today.year, 1, 1), dt.date(today.year, 12, 31))}[name]


@pytest.mark.parametrize("site,zone", [("DEMO_DOMAIN", "UTC"), ("TEAM_DOMAIN", "America/New_York")])
def test_every_named_range_reads_plausibles_dates(data, site, zone):
    # Each name reads the dates Plausible gives it in the site's timezone,
    # and answers exactly what those dates written out answer (in v1 too).
    body = {"site_id": ENV[site], "metrics": ["visitors", "visits", "pageviews", "bounce_rate"], "dimensions": ["visit:source"]}
    seen = 0
    for name in ["day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "3d", "3mo"]:
        for _ in range(2):  # once more if the site's day turned between the calls
            today = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
            first, last = plausible_dates(name, today)
            named = ok(query(dict(body, date_range=name)))
            # Today runs to now (other tests send events later today): its
            # instants are spelt, other ranges their dates.
            dates = [first.isoformat(), last.isoformat()]
            spelt = ok(query(dict(body, date_range=named["query"]["date_range"] if name == "day" else dates)))
            if dt.datetime.now(zoneinfo.ZoneInfo(zone)).date() == today:
                break
        echoed = named["query"]["date_range"]
        assert [echoed[0][:10], echoed[1][:10]] == [first.isoformat(), last.isoformat()], (name, echoed)
        # Whole days, but today (`day`), which ends now.
        assert echoed[0][10:19] == "T00:00:00" and (name == "day" or echoed[1][10:19] == "T23:59:59"), (name, echoed)
        assert named["results"] == spelt["results"], name
        seen += sum(row["metrics"][1] for row in named["results"])
        if name in ("day", "7d", "30d", "month", "6mo", "12mo"):
            params = {"site_id": ENV[site], "metrics": "visitors,visits,pageviews,bounce_rate", "property": "visit:source"}
            by_name = ok(v1("breakdown", dict(params, period=name)))["results"]
            if name == "day":
                # v1's today runs to now too: v2's answer for it, v1's shape.
                keys = ["visitors", "visits", "pageviews", "bounce_rate"]
                want = [dict(zip(keys, row["metrics"]), source=row["dimensions"][0]) for row in named["results"]]
            else:
                want = ok(v1("breakdown", dict(params, period="custom", date=f"{first},{last}")))["results"]
            assert by_name == want, name
    # Not an empty comparison: demo's golden data lies 10-80 days back.
    if site == "DEMO_DOMAIN":
        assert seen > 0


def test_24h_is_the_last_24_hours_to_the_second(data):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    got = ok(query({"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "date_range": "24h"}))
    after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start, end = (dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in got["query"]["date_range"])
    assert end - start == dt.timedelta(hours=24), got["query"]
    assert before - dt.timedelta(seconds=1) <= end <= after + dt.timedelta(seconds=1), (before, end, after)


def test_timeseries_by_day_and_hour(data):
    m = data["model"]
    got = q(data, metrics=["visitors", "pageviews"], dimensions=["time:day"], include={"time_labels": True})
    assert got["meta"]["time_labels"] == data["range"]
    assert as_table(got) == m.breakdown(lambda e: utc(e["t"]).date().isoformat(), ["visitors", "pageviews"])
    hours = q(data, metrics=["pageviews"], dimensions=["time:hour"], date_range=[data["range"][0], data["range"][0]])
    expected = m.breakdown(lambda e: utc(e["t"]).strftime("%Y-%m-%d %H:00:00"), ["pageviews"], lambda e: utc(e["t"]).date() == data["d0"])
    assert as_table(hours) == expected
    # Views per visit by day, as Plausible's current API allows it (a
    # visit is in the bucket of its last event; the scripted ones keep to
    # their day).
    vpv = q(data, metrics=["visits", "views_per_visit"], dimensions=["time:day"])
    want = {}
    for day in (data["d0"], data["d1"]):
        on = lambda e, day=day: utc(e["t"]).date() == day  # noqa: E731
        a = m.aggregate(on, lambda visit: on(visit[0]))
        want[day.isoformat()] = [a["visits"], a["views_per_visit"]]
    assert as_table(vpv) == want


def test_trim_relative_date_range_ends_this_month_with_today_and_today_ends_now():
    """`include.trim_relative_date_range` (Plausible's API since v3.1): this
    month's labels and range end with today rather than the month's end.
    Today's end now, trimmed or not."""
    today = dt.datetime.now(dt.timezone.utc).date()
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "date_range": "month", "dimensions": ["time:day"],
            "include": {"time_labels": True, "trim_relative_date_range": True}}
    got = ok(query(body))
    if dt.datetime.now(dt.timezone.utc).date() != today:
        pytest.skip("the run crossed midnight")
    assert got["meta"]["time_labels"][-1] == today.isoformat(), got["meta"]
    assert got["meta"]["time_labels"][0] == today.replace(day=1).isoformat()
    assert got["query"]["date_range"][1] == f"{today}T23:59:59+00:00"
    assert got["query"]["include"]["trim_relative_date_range"] is True
    untrimmed = ok(query(dict(body, include={"time_labels": True})))
    last = calendar.monthrange(today.year, today.month)[1]
    assert untrimmed["meta"]["time_labels"][-1] == today.replace(day=last).isoformat()
    # Today ends now, trimmed or not (Plausible since #6205): its hours up
    # to the current one, its range to the current second.
    for include in [body["include"], {"time_labels": True}]:
        before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        got = ok(query(dict(body, date_range="day", dimensions=["time:hour"], include=include)))
        after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if before.hour != after.hour or before.date() != after.date():
            pytest.skip("the run crossed an hour")
        assert got["meta"]["time_labels"] == [f"{today} {h:02}:00:00" for h in range(before.hour + 1)], got["meta"]
        end = dt.datetime.fromisoformat(got["query"]["date_range"][1])
        assert before <= end <= after, (before, end, after)
    # A day named by its date is whole, today too.
    whole = ok(query(dict(body, date_range=[today.isoformat(), today.isoformat()], dimensions=["time:hour"], include={"time_labels": True})))
    assert len(whole["meta"]["time_labels"]) == 24 and whole["query"]["date_range"][1] == f"{today}T23:59:59+00:00"


def test_every_filter_operator(data):
    m = data["model"]
    cases = [
        (["is", "event:page", ["/home"]], lambda e: e["path"] == "/home"),
        (["is_not", "event:page", ["/home"]], lambda e: e["path"] != "/home"),
        (["contains", "event:page", ["BLOG"], {"case_sensitive": False}], lambda e: "blog" in e["path"]),
        (["contains", "event:page", ["BLOG"]], lambda e: False),
        (["contains_not", "event:page", ["blog"]], lambda e: "blog" not in e["path"]),
        (["matches", "event:page", ["^/blog/post-[01]$"]], lambda e: e["path"].startswith("/blog/post-")),
        (["matches_not", "event:page", ["^/(home|thanks)$"]], lambda e: e["path"] not in ("/home", "/thanks")),
        # RE2's syntax where the engine Beacon matches with reads it otherwise
        # (case-insensitive, so no LIKE): quoted text, an octal code, and
        # `\<` as the character, not a word's start.
        (["matches", "event:page", ["\\Q/blog/post-\\E[01]$"], {"case_sensitive": False}], lambda e: e["path"].startswith("/blog/post-")),
        (["matches", "event:page", ["^\\057home$"], {"case_sensitive": False}], lambda e: e["path"] == "/home"),
        (["matches_not", "event:page", ["\\<"], {"case_sensitive": False}], lambda e: True),
        (["is", "visit:country", ["DE", "FR"]], lambda e: e["country"] in ("DE", "FR")),
        (["is", "visit:device", ["Mobile"]], lambda e: e["device"] == "Mobile"),
        (["is", "event:name", ["Signup"]], lambda e: e["name"] == "Signup"),
        (["is", "event:props:plan", ["pro"]], lambda e: e["props"].get("plan") == "pro"),
        (["or", [["is", "visit:country", ["US"]], ["and", [["is", "visit:source", ["Google"]], ["not", ["is", "event:page", ["/home"]]]]]]],
         lambda e: e["country"] == "US" or (e["source"] == "Google" and e["path"] != "/home")),
    ]
    for f, keep in cases:
        a = m.aggregate(keep)
        got = q(data, metrics=["visitors", "pageviews", "events"], filters=[f])
        want = [a["visitors"], a["pageviews"], a["events"]]
        assert got["results"][0]["metrics"] == want, (f, got["results"], want)


def test_event_filter_with_session_metrics_counts_visits_that_had_the_event(data):
    m = data["model"]
    got = q(data, metrics=["visits", "bounce_rate"], filters=[["is", "event:page", ["/thanks"]]])
    a = m.aggregate(keep_session=lambda s: any(e["path"] == "/thanks" for e in s))
    assert got["results"][0]["metrics"] == [a["visits"], a["bounce_rate"]]
    # By visit attribute and by day (of the visit's last event), with a goal filter.
    metrics = ["visits", "bounce_rate", "visit_duration"]
    converted = [s for s in m.sessions if any(e["name"] == "Signup" for e in s)]
    for dim, key in [("visit:source", lambda s: s[0]["source"]), ("visit:device", lambda s: s[0]["device"]),
                     ("time:day", lambda s: utc(ended(s)).date().isoformat())]:
        got = as_table(q(data, metrics=metrics, dimensions=[dim], filters=[["is", "event:goal", ["Signup"]]]))
        want = {}
        for k in {key(s) for s in converted}:
            a = m.aggregate(keep_session=lambda s: s in converted and key(s) == k)
            want[k] = [a[x] for x in metrics]
        assert got == want, dim


def test_props_breakdown_goals_conversion_and_revenue(data):
    m = data["model"]
    props = as_table(q(data, metrics=["visitors", "events"], dimensions=["event:props:plan"]))
    expected = m.breakdown(lambda e: e["props"].get("plan", "(none)"), ["visitors", "events"])
    assert props == expected
    goals = as_table(q(data, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"]))
    total = m.aggregate()["visitors"]

    def goal(keep):
        a = m.aggregate(keep)
        return [a["visitors"], a["events"], sql_round(a["visitors"] / total * 100, 2)]

    assert goals["Signup"] == goal(lambda e: e["name"] == "Signup")
    assert goals["Visit /thanks"] == goal(lambda e: e["name"] == "pageview" and e["path"] == "/thanks")
    assert goals["Visit /blog/**"] == goal(lambda e: e["name"] == "pageview" and e["path"].startswith("/blog/"))
    signup = goal(lambda e: e["name"] == "Signup")
    filtered = q(data, metrics=["visitors", "events", "conversion_rate"], filters=[["is", "event:goal", ["Signup"]]])
    assert filtered["results"][0]["metrics"] == signup
    # Plausible's two rates: over all visitors, and over the group's.
    by_country = as_table(q(data, metrics=["visitors", "conversion_rate", "group_conversion_rate"], dimensions=["visit:country"],
                            filters=[["is", "event:goal", ["Visit /blog/**"]]]))
    assert by_country
    for country, (visitors, rate, group_rate) in by_country.items():
        everyone = m.aggregate(lambda e: e["country"] == country)["visitors"]
        converted = m.aggregate(lambda e: e["country"] == country and e["name"] == "pageview" and e["path"].startswith("/blog/"))
        want = [converted["visitors"], sql_round(converted["visitors"] / total * 100, 2),
                sql_round(converted["visitors"] / everyone * 100, 2)]
        assert [visitors, rate, group_rate] == want, country


def test_goals_with_custom_props_and_scroll_thresholds(data):
    # The demo site's "Pro signup" (Signup with plan=pro, under a display
    # name) and "Scroll 55% on /blog/**" (engagement on those pages that
    # reached 55%; its default name), as Plausible's goals: the name is what
    # reports show and goal filters match, and an engagement is no event.
    m = data["model"]
    total = m.aggregate()["visitors"]
    pro, scrolled = GOALS["Pro signup"], GOALS["Scroll 55% on /blog/**"]
    goals = as_table(q(data, metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"]))
    # The data set has both, and events that fall short of them: a free
    # Signup, and shallower scrolls on the blog.
    free = lambda e: e["name"] == "Signup" and not pro(e)
    shallow = lambda e: e["name"] == "engagement" and e["path"].startswith("/blog/") and not scrolled(e)
    for name, keep, miss in [("Pro signup", pro, free), ("Scroll 55% on /blog/**", scrolled, shallow)]:
        a = m.aggregate(keep)
        assert a["visitors"] and m.aggregate(miss)["visitors"], name
        assert goals[name] == [a["visitors"], a["events"], sql_round(a["visitors"] / total * 100, 2)], name
        # A visit dimension under the goal's filter (Plausible's
        # query_goal_custom_props_visit_dimensions_test).
        got = as_table(q(data, metrics=["visitors", "events"], dimensions=["visit:country"], filters=[["is", "event:goal", [name]]]))
        assert got == m.breakdown(lambda e: e["country"], ["visitors", "events"], keep), name
    assert goals["Scroll 55% on /blog/**"][1] == 0
    # The display name is matched, as any goal name: `contains`, and
    # ignoring case.
    for f in [["contains", "event:goal", ["Pro s"]], ["is", "event:goal", ["pro SIGNUP"], {"case_sensitive": False}]]:
        got = q(data, metrics=["visitors", "events"], filters=[f])["results"][0]["metrics"]
        a = m.aggregate(pro)
        assert got == [a["visitors"], a["events"]], f
    got = q(data, metrics=["visitors"], filters=[["is", "event:goal", ["Signup"]]])["results"][0]["metrics"]
    assert got == [m.aggregate(lambda e: e["name"] == "Signup")["visitors"]]


def test_revenue_is_money_in_the_currency_of_the_revenue_goals_in_play(data):
    # The demo site's revenue goals (scripts/seed.sql): Purchase in EUR,
    # Upgrade in USD. As Plausible: revenue counts a goal's events with
    # revenue in its currency (Beacon does not convert others), and is
    # null, with a warning, unless the goals in play have one currency.
    m = data["model"]

    def amounts(goal, currency):
        return [float(e["revenue"]["amount"]) for e in m.events
                if e["name"] == goal and e["revenue"] and e["revenue"]["currency"] == currency]

    eur, usd = amounts("Purchase", "EUR"), amounts("Upgrade", "USD")
    assert len(eur) == 1 and len(usd) == 2 and amounts("Purchase", "USD"), "the data set has revenue in both currencies"
    got = q(data, metrics=["total_revenue", "average_revenue", "visitors"], filters=[["is", "event:goal", ["Purchase"]]])
    total, average, visitors = got["results"][0]["metrics"]
    assert total == {"short": "€20.5", "long": "€20.50", "value": sum(eur), "currency": "EUR"}
    assert (average["value"], average["currency"]) == (sum(eur) / len(eur), "EUR")
    assert visitors == m.aggregate(lambda e: e["name"] == "Purchase")["visitors"]
    assert "metric_warnings" not in got["meta"]
    got = q(data, metrics=["total_revenue", "average_revenue"], filters=[["is", "event:goal", ["Upgrade"]]])
    assert got["results"][0]["metrics"] == [
        {"short": "$1.2K", "long": "$1,244.60", "value": round(sum(usd), 3), "currency": "USD"},
        {"short": "$622.3", "long": "$622.30", "value": round(sum(usd) / 2, 3), "currency": "USD"}]
    # By goal: each revenue goal's row in its own currency, others null.
    rows = {r["dimensions"][0]: r["metrics"] for r in q(data, metrics=["total_revenue", "events"], dimensions=["event:goal"])["results"]}
    assert rows["Purchase"] == [{"short": "€20.5", "long": "€20.50", "value": 20.5, "currency": "EUR"}, 2]
    assert rows["Upgrade"][0]["value"] == round(sum(usd), 3) and rows["Signup"][0] is None
    # Two currencies at once, or no revenue goal in play: null, and why.
    for filters, code in [([["is", "event:goal", ["Purchase", "Upgrade"]]], "no_single_revenue_currency"),
                          ([["is", "event:name", ["Purchase"]]], "no_revenue_goals_matching"),
                          ([["is", "event:goal", ["Signup"]]], "no_revenue_goals_matching")]:
        got = q(data, metrics=["total_revenue", "visitors"], filters=filters)
        assert got["results"][0]["metrics"][0] is None, filters
        assert got["meta"]["metric_warnings"]["total_revenue"]["code"] == code, filters


def test_average_revenue_is_cut_and_shown_as_plausibles_own_tests_have_it():
    """Plausible's revenue tests, on a free day: amounts 100.3, 40.3 and
    60.6 of a revenue goal average 67.066 (ClickHouse cuts a decimal
    quotient to the column's three places), and 40.3 and 60.6 average
    50.45, shown short as 50.4 (CLDR rounds a tie to even, on the decimal
    amount). A goal without revenue counts in events, not in the average."""
    d0, _ = pick_days()
    net = f"198.18.{uuid.uuid4().int % 250 + 1}"
    script = [("/big", "Purchase", "100.3"), ("/a", "Purchase", "40.3"), ("/b", "Purchase", "60.6"), ("/c", "Signup", None)]
    for n, (path, name, amount) in enumerate(script, 1):
        payload = {"n": name, "u": f"https://{ENV['DEMO_DOMAIN']}{path}"}
        if amount:
            payload["$"] = {"amount": amount, "currency": "EUR"}
        r = send(payload, ip=f"{net}.{n}", ua=FIREFOX, headers={"x-beacon-dev-time": str(at(d0, 10, n))})
        assert r.status == 202, (r.status, r.body)
        wait_landed(d0, d0, n)
    day = {"site_id": ENV["DEMO_DOMAIN"], "date_range": [d0.isoformat(), d0.isoformat()],
           "metrics": ["events", "average_revenue", "total_revenue"]}
    goals = ["is", "event:goal", ["Signup", "Purchase"]]
    got = ok(query(dict(day, filters=[goals])))["results"][0]["metrics"]
    assert got == [4, {"short": "€67.1", "long": "€67.07", "value": 67.066, "currency": "EUR"},
                   {"short": "€201.2", "long": "€201.20", "value": 201.2, "currency": "EUR"}], got
    got = ok(query(dict(day, filters=[goals, ["is_not", "event:page", ["/big"]]])))["results"][0]["metrics"]
    assert got == [3, {"short": "€50.4", "long": "€50.45", "value": 50.45, "currency": "EUR"},
                   {"short": "€100.9", "long": "€100.90", "value": 100.9, "currency": "EUR"}], got


def test_order_pagination_total_rows_and_percentage(data):
    m = data["model"]
    full = m.breakdown(lambda e: e["path"], ["visitors"])
    ranked = sorted(full.items(), key=lambda kv: (-kv[1][0], kv[0]))
    got = q(data, metrics=["visitors", "percentage"], dimensions=["event:page"], order_by=[["visitors", "desc"]],
            pagination={"limit": 2, "offset": 1}, include={"total_rows": True})
    total = m.aggregate()["visitors"]
    assert [r["dimensions"][0] for r in got["results"]] == [k for k, _ in ranked[1:3]]
    assert got["results"][0]["metrics"] == [ranked[1][1][0], sql_round(ranked[1][1][0] / total * 100, 1)]
    assert got["meta"]["total_rows"] == len(full)
    # Without total_rows the engine cuts the ranking in SQL: the same page.
    cut = q(data, metrics=["visitors"], dimensions=["event:page"], pagination={"limit": 2, "offset": 1})
    assert [r["dimensions"][0] for r in cut["results"]] == [k for k, _ in ranked[1:3]]
    asc = q(data, metrics=["visitors"], dimensions=["event:page"], order_by=[["event:page", "asc"]])
    assert [r["dimensions"][0] for r in asc["results"]] == sorted(full)


def test_comparison_with_previous_period(data):
    got = q(data, metrics=["visitors"], include={"comparisons": {"mode": "previous_period"}})
    row = got["results"][0]
    assert row["comparison"]["metrics"] == [0] and row["comparison"]["change"] == [100]


def test_today_is_compared_with_yesterday_up_to_the_same_time():
    """As Plausible now compares "Today" (its changelog: "Always compare
    against the same time range in comparisons with Today"): `day` against
    yesterday up to the time of day it is now, not the whole of yesterday.
    The demo site is in UTC."""
    now = int(time.time() * 1000)
    if not 2 * MIN < now % 86_400_000 < 86_400_000 - 2 * MIN:
        pytest.skip("too close to midnight UTC for times on either side of now yesterday")
    path, net = f"/today-{uuid.uuid4().hex}", f"198.18.{uuid.uuid4().int % 250 + 1}"
    yesterday = now - 86_400_000
    # Yesterday a minute before and a minute after the time it is now, and
    # today half a minute ago.
    for n, t in enumerate([yesterday - MIN, yesterday + MIN, now - MIN // 2], 1):
        r = send({"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{path}"}, ip=f"{net}.{n}", ua=FIREFOX,
                 headers={"x-beacon-dev-time": str(t)})
        assert r.status == 202, (r.status, r.body)
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "filters": [["is", "event:page", [path]]]}
    both = [utc(yesterday).date().isoformat(), utc(now).date().isoformat()]
    deadline = time.time() + 30
    while ok(query(dict(body, date_range=both)))["results"][0]["metrics"] != [3]:
        assert time.time() < deadline, "the three pageviews did not land"
        time.sleep(0.2)
    got = ok(query(dict(body, date_range="day", include={"comparisons": {"mode": "previous_period"}})))["results"][0]
    assert got["metrics"] == [1] and got["comparison"]["metrics"] == [1] and got["comparison"]["change"] == [0], got
    # A day named by its date is still compared with the whole day before.
    got = ok(query(dict(body, date_range=[both[1], both[1]], include={"comparisons": {"mode": "previous_period"}})))["results"][0]
    assert got["comparison"]["metrics"] == [2], got
    # v1's `period=day` dated today is Today, as Plausible's legacy API
    # reads it; a custom range of today's date is that day whole.
    params = {"site_id": ENV["DEMO_DOMAIN"], "metrics": "visitors", "filters": f"event:page=={path}", "compare": "previous_period"}
    got = ok(v1("aggregate", dict(params, period="day", date=both[1])))["results"]
    assert got == {"visitors": {"value": 1, "change": 0, "comparison_value": 1}}, got
    got = ok(v1("aggregate", dict(params, period="custom", date=f"{both[1]},{both[1]}")))["results"]
    assert got["visitors"]["comparison_value"] == 2, got


def test_time_buckets_pair_with_the_same_day_of_the_other_period(data):
    # The two golden days against the two before them, which have no data:
    # each day pairs with its own counterpart, zeros included.
    m = data["model"]
    got = q(data, metrics=["visitors"], dimensions=["time:day"], include={"comparisons": {"mode": "previous_period"}})
    assert [r["dimensions"][0] for r in got["results"]] == data["range"]
    for day, row in zip((data["d0"], data["d1"]), got["results"]):
        assert row["metrics"] == [m.aggregate(lambda e: utc(e["t"]).date() == day)["visitors"]]
        assert row["comparison"] == {"dimensions": [(day - dt.timedelta(days=2)).isoformat()], "metrics": [0], "change": [100]}
    # Every bucket of either period is a row, as Plausible's: the empty
    # days after the data set (pick_days keeps them free) against the two
    # golden days, then against both with only one day of its own.
    after = [(data["d1"] + dt.timedelta(days=n)).isoformat() for n in (1, 2)]
    per_day = {day.isoformat(): m.aggregate(lambda e, day=day: utc(e["t"]).date() == day,
                                            lambda s, day=day: utc(s[0]["t"]).date() == day) for day in (data["d0"], data["d1"])}
    got = q(data, metrics=["visitors", "visit_duration"], dimensions=["time:day"], date_range=after,
            include={"comparisons": {"mode": "custom", "date_range": data["range"]}})["results"]
    assert got == [{"dimensions": [mine], "metrics": [0, None],
                    "comparison": {"dimensions": [theirs], "metrics": [per_day[theirs]["visitors"], per_day[theirs]["visit_duration"]],
                                   "change": [-100, None]}} for mine, theirs in zip(after, data["range"])]
    got = q(data, metrics=["visitors"], dimensions=["time:day"], date_range=[after[0], after[0]],
            include={"comparisons": {"mode": "custom", "date_range": data["range"]}})["results"]
    assert [(r["dimensions"], r["metrics"], r["comparison"]["dimensions"]) for r in got] == [
        ([after[0]], [0], [data["range"][0]]), (None, None, [data["range"][1]])]


def test_year_over_year_and_custom_comparisons(data):
    m = data["model"]
    a = m.aggregate()
    # The same calendar dates a year on (pick_days never picks Feb 29).
    later = [d.replace(year=d.year + 1).isoformat() for d in (data["d0"], data["d1"])]
    got = q(data, metrics=["visitors", "pageviews"], date_range=later, include={"comparisons": {"mode": "year_over_year"}})
    row = got["results"][0]
    assert row["metrics"] == [0, 0] and row["comparison"]["metrics"] == [a["visitors"], a["pageviews"]]
    custom = q(data, metrics=["pageviews"], date_range=[data["range"][1], data["range"][1]],
               include={"comparisons": {"mode": "custom", "date_range": [data["range"][0], data["range"][0]]}})
    day0 = m.aggregate(lambda e: utc(e["t"]).date() == data["d0"])["pageviews"]
    day1 = a["pageviews"] - day0
    assert custom["results"][0]["metrics"] == [day1]
    assert custom["results"][0]["comparison"]["metrics"] == [day0]
    assert custom["results"][0]["comparison"]["change"] == [rnd((day1 - day0) / day0 * 100)]


def test_v1_endpoints_answer_like_plausible(data):
    m = data["model"]
    period = {"site_id": ENV["DEMO_DOMAIN"], "period": "custom", "date": ",".join(data["range"])}
    agg = ok(v1("aggregate", dict(period, metrics="visitors,pageviews")))
    a = m.aggregate()
    assert agg["results"] == {"visitors": {"value": a["visitors"]}, "pageviews": {"value": a["pageviews"]}}
    # Compared, a value comes with its change and the previous period's
    # value (Plausible's `comparison_value`): the second day against the first.
    day0 = m.aggregate(lambda e: utc(e["t"]).date() == data["d0"])["pageviews"]
    second = dict(period, date=f"{data['range'][1]},{data['range'][1]}", metrics="pageviews", compare="previous_period")
    day1 = a["pageviews"] - day0
    assert ok(v1("aggregate", second))["results"] == {
        "pageviews": {"value": day1, "change": rnd((day1 - day0) / day0 * 100), "comparison_value": day0}}
    # `Nd` is the n days before `date`, that day left out (Plausible 3.0 on):
    # the one day before the second is the first; the 7 before it read what
    # their dates spelt out read.
    one = dict(period, period="1d", date=data["range"][1], metrics="pageviews")
    assert ok(v1("aggregate", one))["results"] == {"pageviews": {"value": day0}}
    week = dict(one, period="7d")
    spelt = dict(one, period="custom", date=f"{data['d1'] - dt.timedelta(days=7)},{data['d0']}")
    assert ok(v1("aggregate", week))["results"] == ok(v1("aggregate", spelt))["results"]
    ts = ok(v1("timeseries", dict(period, metrics="pageviews", interval="day")))
    assert [r["date"] for r in ts["results"]] == data["range"]
    assert sum(r["pageviews"] for r in ts["results"]) == a["pageviews"]
    # A bucket without data reads as Plausible's `empty_row`: counts 0, rates
    # 0.0 and no visit duration (pick_days leaves the day after free).
    after = (data["d1"] + dt.timedelta(days=1)).isoformat()
    ts = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/timeseries?" + urllib.parse.urlencode(
        dict(period, date=f"{data['range'][1]},{after}", metrics="visits,bounce_rate,visit_duration,views_per_visit")),
        None, {"authorization": "Bearer " + ENV["DEMO_API_KEY"]})
    assert ts.status == 200, ts.body
    assert '"bounce_rate":0.0' in ts.body.replace(" ", "")
    empty = ts.json()["results"][1]
    assert empty == {"date": after, "visits": 0, "bounce_rate": 0.0, "visit_duration": None, "views_per_visit": 0.0}, empty
    # v1's timeseries takes views_per_visit, as Plausible's v1 does; the
    # scripted visits keep to their day.
    on_d1 = lambda e: utc(e["t"]).date() == data["d1"]  # noqa: E731
    d1 = m.aggregate(on_d1, lambda visit: on_d1(visit[0]))
    assert ts.json()["results"][0] == {"date": data["range"][1], **{k: d1[k] for k in
                                       ["visits", "bounce_rate", "visit_duration", "views_per_visit"]}}
    bd = ok(v1("breakdown", dict(period, property="event:page", metrics="visitors", limit="1", page="1", filters="event:page==/blog/**")))
    blog = {k: v for k, v in m.breakdown(lambda e: e["path"], ["visitors"]).items() if k.startswith("/blog/")}
    top = sorted(blog.items(), key=lambda kv: (-kv[1][0], kv[0]))[0]
    assert bd["results"] == [{"page": top[0], "visitors": top[1][0]}]
    # As Plausible's v1 breakdown: blanks of UTM tags (and geo, entry and
    # exit pages) left out, a version beside its name, and conversion_rate
    # per group.
    utm = ok(v1("breakdown", dict(period, property="visit:utm_source", metrics="visitors")))
    assert utm["results"] == [{"utm_source": "newsletter", "visitors": m.aggregate(lambda e: e["utm_source"] == "newsletter")["visitors"]}]
    versions = ok(v1("breakdown", dict(period, property="visit:browser_version", metrics="visitors")))
    want = m.breakdown(lambda e: (e["browser"], e["browser_version"]), ["visitors"])
    assert {(r["browser"], r["browser_version"]): [r["visitors"]] for r in versions["results"]} == want
    cr = ok(v1("breakdown", dict(period, property="visit:country", metrics="visitors,conversion_rate", filters="event:goal==Signup")))
    want = {}
    for country in {e["country"] for e in m.events}:
        converted = m.aggregate(lambda e: e["country"] == country and e["name"] == "Signup")["visitors"]
        if converted:
            want[country] = [converted, sql_round(converted / m.aggregate(lambda e: e["country"] == country)["visitors"] * 100, 2)]
    assert want and {r["country"]: [r["visitors"], r["conversion_rate"]] for r in cr["results"]} == want
    days = ok(v1("timeseries", dict(period, metrics="conversion_rate", interval="day", filters="event:goal==Signup")))
    want = []
    for day in data["range"]:
        on = lambda e: utc(e["t"]).date().isoformat() == day  # noqa: E731
        everyone = m.aggregate(on)["visitors"]
        converted = m.aggregate(lambda e: on(e) and e["name"] == "Signup")["visitors"]
        want.append({"date": day, "conversion_rate": sql_round(converted / everyone * 100, 2) if everyone else 0})
    assert days["results"] == want


def test_realtime_counts_the_visitors_of_the_last_five_minutes():
    """v1's realtime/visitors: the visitors with an event other than
    engagement in the last five minutes (Plausible's current visitors),
    read back against the stand-in's own distinct count over the window as
    it can have been between just before and just after the request (other
    tests' visitors are in it too)."""
    run = "/rt" + uuid.uuid4().hex[:8]
    now_ms = int(time.time() * 1000)
    fresh = [new_visitor() for _ in range(3)]
    for ip in fresh:
        for page in ("/a", "/b"):  # visitors, not pageviews
            assert send({"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{run}{page}"}, ip=ip).status == 202
    # A pageview six minutes ago is out of the window, and the engagement
    # it sends now does not bring its visitor back in (Plausible's too).
    late, ip = {"x-beacon-dev-time": str(now_ms - 6 * MIN)}, new_visitor()
    assert send({"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{run}/old"}, ip=ip, headers=late).status == 202
    mine = f"SELECT blob2 FROM EVENTS WHERE index1 = '{ENV['DEMO_SITE_ID']}' AND double1 = 1 AND startsWith(blob2, '{run}/')"
    assert len(wait_rows(mine + " AND blob2 LIKE '%/old'", 1)) == 1  # its visit exists before the engagement
    engaged = {"n": "engagement", "u": f"https://{ENV['DEMO_DOMAIN']}{run}/old", "e": 5000, "sd": 40}
    assert send(engaged, ip=ip).status == 202
    assert len(wait_rows(mine, 8)) == 8
    time.sleep(1)  # earlier tests' deferred work lands first

    t0 = int(time.time() * 1000)
    rt = ok(v1("realtime/visitors", {"site_id": ENV["DEMO_DOMAIN"]}))
    t1 = int(time.time() * 1000)
    least, most = current_visitors_bounds(ENV["DEMO_SITE_ID"], t0, t1)
    assert isinstance(rt, int) and least >= len(fresh) and least <= rt <= most, (least, rt, most)
    # Without a site: 400, as any query without one.
    r = v1("realtime/visitors", {})
    assert r.status == 400 and "site_id" in r.json()["error"], r.body


# --- tenancy ---------------------------------------------------------------

def other_totals(data):
    return ok(query({"site_id": ENV["OTHER_SITE_ID"], "metrics": ["visitors", "pageviews"], "date_range": "all"}, key=ENV["OTHER_API_KEY"]))["results"]


def test_a_key_sees_only_its_own_site_on_every_endpoint(data):
    for site in [ENV["OTHER_SITE_ID"], ENV["OTHER_DOMAIN"], "www." + ENV["OTHER_DOMAIN"], "paused", "nope.example", ""]:
        r = query({"site_id": site, "metrics": ["visitors"], "date_range": "all"})
        assert r.status in (404, 400) and "error" in r.json(), (site, r.status, r.body)
        if site:
            assert r.status == 404
        for endpoint in V1:
            r = v1(endpoint, {"site_id": site, "metrics": "visitors", "property": "event:page", "period": "30d"})
            assert r.status in (404, 400) and "results" not in r.body, (endpoint, site, r.body)
        r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + urllib.parse.quote(site), None,
                    {"authorization": "Bearer " + ENV["DEMO_API_KEY"]})
        assert r.status in (404, 400), r.body
    # The other tenant's key cannot read demo either.
    r = query({"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "date_range": "all"}, key=ENV["OTHER_API_KEY"])
    assert r.status == 404
    # A repeated site_id: the last one counts, as in Plausible, and is
    # checked like any other.
    demo, other = ENV["DEMO_SITE_ID"], ENV["OTHER_SITE_ID"]
    for first, last, status in [(other, demo, 200), (demo, other, 404)]:
        r = v1("aggregate", [("site_id", first), ("site_id", last), ("metrics", "visitors"), ("period", "30d")])
        assert r.status == status, (first, last, r.body)
        r = request("GET", ENV["QUERY_URL"] + f"/api/v1/stats/realtime/visitors?site_id={first}&site_id={last}", None,
                    {"authorization": "Bearer " + ENV["DEMO_API_KEY"]})
        assert r.status == status, (first, last, r.body)


def test_a_key_reads_every_site_of_its_team_and_no_other(data):
    answers = []
    for named in [ENV["TEAM_SITE_ID"], ENV["TEAM_DOMAIN"], ENV["TEAM_DOMAIN"].upper()]:
        body = {"site_id": named, "metrics": ["visitors"], "date_range": "all", "dimensions": ["event:page"]}
        r = query(body)
        assert r.status == 200, (named, r.body)
        answers.append(r.json()["results"])
        assert query(body, key=ENV["OTHER_API_KEY"]).status == 404
    # One site however it is named. The timezone module writes to it, so on
    # a long-lived dev stack it may already hold that module's pages.
    assert answers[0] == answers[1] == answers[2], answers
    for endpoint in V1:
        assert v1(endpoint, {"site_id": ENV["TEAM_DOMAIN"], "property": "event:page"}).status == 200
        assert v1(endpoint, {"site_id": ENV["TEAM_DOMAIN"], "property": "event:page"}, key=ENV["OTHER_API_KEY"]).status == 404
    # The team's other site has its own data: demo's pages never show there.
    demo = ok(query({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": data["range"], "dimensions": ["event:page"]}))
    demo_pages = {row["dimensions"][0] for row in demo["results"]}
    assert demo_pages and not demo_pages & {row["dimensions"][0] for row in answers[0]}, (demo_pages, answers[0])


def test_filters_and_pagination_cannot_reach_another_tenant(data):
    # Other's pages are only ever in other's rows: filtering for them from
    # demo finds nothing, whatever the page.
    for page in range(3):
        r = ok(query({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "all", "dimensions": ["event:hostname"],
                      "pagination": {"limit": 1, "offset": page}}))
        for row in r["results"]:
            assert ENV["OTHER_DOMAIN"] not in row["dimensions"][0]
    r = ok(query({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "all",
                  "filters": [["contains", "event:hostname", [ENV["OTHER_DOMAIN"]]]]}))
    assert r["results"][0]["metrics"] == [0]


def test_missing_bad_and_revoked_keys_are_401(data):
    body = {"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "day"}
    # In Plausible's words: no key, or one it does not know.
    missing = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
    unknown = "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site you've requested."
    for key in ["", "bk_nope", ENV["REVOKED_API_KEY"]]:
        r = query(body, key=key)
        assert r.status == 401 and r.json()["error"] == (unknown if key else missing), (key, r.body)
        r = v1("aggregate", {"site_id": ENV["DEMO_SITE_ID"]}, key=key or "x")
        assert r.status == 401 and r.json()["error"] == unknown, (key, r.body)
    # The scheme is case-insensitive (RFC 9110); other schemes are not keys.
    url = ENV["QUERY_URL"] + "/api/v2/query"
    for scheme, status in [("bearer", 200), ("BEARER", 200), ("Basic", 401), ("Token", 401)]:
        r = request("POST", url, json.dumps(body), {"authorization": f"{scheme} {ENV['DEMO_API_KEY']}"})
        assert r.status == status and (status == 200 or "error" in r.json()), (scheme, r.status, r.body)


# --- hostile input ---------------------------------------------------------

HOSTILE = ["' OR 1=1 --", "\\' OR '1'='1", "'; DROP TABLE EVENTS; --", "\\", "\x00", "\u202e🎉", "a\nb", "%_", "\"plan\":\"pro\""]


def test_hostile_values_are_data_never_sql(data):
    before = other_totals(data)
    for value in HOSTILE:
        for dim in ["event:page", "visit:source", "event:props:plan", "event:props:" + value]:
            for op in ["is", "contains", "is_not"]:
                r = query({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "all", "filters": [[op, dim, [value]]]})
                assert r.status == 200, (value, dim, op, r.body)
                if op != "is_not":
                    assert r.json()["results"][0]["metrics"] == [0], (value, dim, op)
        r = query({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "all", "dimensions": ["event:props:" + value]})
        assert r.status == 200, r.body
    assert other_totals(data) == before


def test_hostile_site_ids_are_not_found_on_every_endpoint():
    """A site id is only ever looked up: hostile ones name no site, on the
    Stats API, realtime and the live view alike (never a 500)."""
    key = {"authorization": "Bearer " + ENV["DEMO_API_KEY"]}
    for site in HOSTILE + ["x" * 4000, ENV["DEMO_SITE_ID"] + "\x00", " " + ENV["DEMO_DOMAIN"] + "%"]:
        r = query({"site_id": site, "metrics": ["visitors"], "date_range": "day"})
        assert r.status == 404 and "error" in r.json(), (site, r.status, r.body)
        for path, extra in [("/api/v1/stats/realtime/visitors", {}), ("/api/v1/stats/aggregate", {}), ("/api/live", upgrade_headers())]:
            r = request("GET", ENV["QUERY_URL"] + path + "?" + urllib.parse.urlencode({"site_id": site}), None, {**key, **extra})
            assert r.status == 404 and "error" in r.json(), (path, site, r.status, r.body)


@pytest.mark.parametrize("body,status,needle", [
    ({"site_id": "demo", "metrics": ["visitors", "baa"], "date_range": "day"}, 400, '#/metrics/1: Invalid metric "baa"'),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "bogus": 1}, 400, "Unknown key"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["matches", "event:page", ["(unclosed"]]]}, 400, "regular expression"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": ["2024-02-30", "2024-03-01"]}, 400, "date_range"),
    # Before 1970 no event exists; it was clamped to 1970 and echoed so.
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": ["1960-01-01", "1960-01-02"]}, 400, "#/date_range: date out of range"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": ["9999-12-31", "9999-12-31"]}, 400, "#/date_range: date out of range"),
    # A comparison that would start before 1970 names the comparison.
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": ["1970-01-02", "1970-01-03"],
      "include": {"comparisons": {"mode": "previous_period"}}}, 400, "#/include/comparisons: date out of range"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": "day",
      "include": {"comparisons": {"mode": "custom", "date_range": ["1960-01-01", "1960-01-02"]}}}, 400,
     "#/include/comparisons/date_range: date out of range"),
    ({"site_id": "demo", "metrics": ["bounce_rate"], "date_range": "day", "dimensions": ["event:name"]}, 400, "Session metric"),
    ({"site_id": "demo", "metrics": ["conversion_rate"], "date_range": "day"}, 400, "event:goal"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["is", "event:goal", ["Nope"]]]}, 400, "not configured"),
    ({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "pagination": {"limit": 100001}}, 400, "limit"),
])
def test_invalid_queries_get_clear_400s(body, status, needle):
    r = query(body)
    assert r.status == status, r.body
    assert needle in r.json()["error"], r.body


@pytest.mark.parametrize("endpoint,params,said", [
    ("breakdown", {"property": "visit:bogus"},
     "Invalid property 'visit:bogus'. Please provide a valid property for the breakdown endpoint: https://plausible.io/docs/stats-api#properties"),
    ("aggregate", {"filters": "visit:bogus==x"},
     "Invalid filter property 'visit:bogus'. Please provide a valid filter property: https://plausible.io/docs/stats-api#properties"),
    ("aggregate", {"period": "bogus"}, "Error parsing `period` parameter: invalid period `bogus`."),
    ("timeseries", {"period": "custom", "date": "2024-01-05,2024-01-01"}, "date: Start date must not be after end date"),
    ("aggregate", {"period": "custom", "date": "1960-01-01,1960-01-02"}, "date: date out of range"),
    ("aggregate", {"period": "custom", "date": "1970-01-02,1970-01-03", "compare": "previous_period"}, "compare: date out of range"),
    ("aggregate", {"metrics": "views_per_visit", "filters": "event:page==/a"},
     "Metric `views_per_visit` cannot be queried with a filter on `event:page`."),
    ("aggregate", {"metrics": "visitors,bounce_rate", "filters": "event:goal==Signup"},
     "Session metric `bounce_rate` cannot be queried when using a filter on `event:goal`."),
    ("breakdown", {"property": "event:page", "filters": "event:goal==Nope|Signup"},
     "The goal `Nope` is not configured for this site. Find out how to configure goals here: "
     "https://plausible.io/docs/stats-api#filtering-by-goals"),
    ("aggregate", {"filters": "event:goal==Visit /nope"}, "The pageview goal for the pathname `/nope` is not configured for this site."),
    ("breakdown", {"property": "event:page", "filters": "event:page==" + "/**" * 400}, "filters: invalid regular expression"),
    ("breakdown", {"property": "event:page", "page": "1.5"}, "Please provide page as a number greater than 0."),
    ("aggregate", {"site_id": ""}, "Missing site ID. Please provide the required site_id parameter with your request."),
])
def test_v1_errors_say_plausibles_words_or_name_the_query_parameter(endpoint, params, said):
    """v1's own refusals are Plausible's v1 sentences, word for word. The
    v2 engine's, which point into a JSON body (`#/date_range`) a v1 caller
    never wrote, name the query parameter instead."""
    r = v1(endpoint, dict({"site_id": ENV["DEMO_DOMAIN"]}, **params))
    assert r.status == 400 and r.json()["error"].startswith(said), r.body


def test_deep_huge_and_broken_bodies(data):
    deep = ["is", "event:page", ["/"]]
    for _ in range(40):
        deep = ["not", deep]
    r = query({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [deep]})
    assert r.status == 400 and "nest" in r.json()["error"]
    wide = [["is", "event:page", [f"/{i}"]] for i in range(500)]
    r = query({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": wide})
    assert r.status == 400
    r = query(None, raw="x" * (10 * 1024 * 1024))
    assert r.status == 413 and "error" in r.json()
    # The cap is 64 KiB exactly: a query padded to it is answered.
    small = json.dumps({"site_id": "demo", "metrics": ["visitors"], "date_range": "day"})
    assert query(None, raw=small + " " * (64 * 1024 - len(small))).status == 200
    assert query(None, raw=small + " " * (64 * 1024 + 1 - len(small))).status == 413
    # Without Content-Length the cap holds while streaming.
    u = urllib.parse.urlparse(ENV["QUERY_URL"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/api/v2/query", body=(b" " * 8192 for _ in range(100)), encode_chunked=True,
                 headers={"authorization": "Bearer " + ENV["DEMO_API_KEY"], "transfer-encoding": "chunked"})
    resp = conn.getresponse()
    assert resp.status == 413 and "error" in json.loads(resp.read())
    for raw in ["", "{", "[]", "null", "\x00", '{"site_id": "demo"}']:
        r = query(None, raw=raw)
        assert r.status == 400 and "error" in r.json(), (raw, r.body)
    key = {"authorization": "Bearer " + ENV["DEMO_API_KEY"]}
    r = request("GET", ENV["QUERY_URL"] + "/api/v2/query", None, key)
    assert r.status == 405 and r.headers["allow"] == "POST" and "error" in r.json()
    r = request("POST", ENV["QUERY_URL"] + "/api/v1/stats/aggregate", "{}", key)
    assert r.status == 405 and r.headers["allow"] == "GET"
    # A path that is no endpoint says so, not that a site is missing.
    for path in ["/", "/api/v2/query/", "/api/v2/quer", "/api/v3/query"]:
        r = request("POST", ENV["QUERY_URL"] + path, "{}", key)
        assert r.status == 404 and "endpoint" in r.json()["error"], (path, r.body)


def test_a_pattern_matching_too_many_long_values_is_a_400_not_an_engine_error():
    """10,000 long paths on free days, half matching. A pattern LIKE can say
    is answered in SQL; one it cannot is matched against the values here,
    and either value list is over the statement size AE accepts, so the
    answer is a clear 400."""
    d0, _ = pick_days()
    t = at(d0, 12)
    points = [{"index": ENV["DEMO_SITE_ID"], "timestamp_ms": t + i,
               "blobs": ["pageview", f"/{'in' if i % 2 else 'out'}/{'x' * 60}/{i}"],
               # Event rows as ingest writes them: a pageview holds 1 in double14 and double15.
               "doubles": [1, 1, 1, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]}
              for i in range(10_000)]
    r = request("POST", ENV["AE_LOCAL_URL"] + "/write", json.dumps(points), {"content-type": "application/json"})
    assert r.status == 200, r.body
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["pageviews"], "date_range": [d0.isoformat(), d0.isoformat()],
            "filters": [["matches", "event:page", ["^/in/"]]]}
    assert ok(query(body))["results"][0]["metrics"] == [5000]
    body["filters"] = [["matches", "event:page", ["^/in/x+/"]]]
    r = query(body)
    assert r.status == 400 and "KB" in r.json()["error"], r.body
    # A narrower pattern answers.
    body["filters"] = [["matches", "event:page", ["^/in/x+/1$"]]]
    assert ok(query(body))["results"][0]["metrics"] == [1]


def test_rate_limit_answers_429_with_retry_after_and_concurrency_cannot_overshoot(data):
    # The limited key allows 3 requests an hour. Fired 8 at once, at most 3
    # get through (fewer when an earlier run this hour used some).
    body = {"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "day"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: query(body, key=ENV["LIMITED_API_KEY"]), range(8)))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(200) <= 3 and set(statuses) <= {200, 429}, statuses
    for r in replies:
        if r.status == 429:
            assert int(r.headers["retry-after"]) > 0, r.headers
            assert r.json()["error"] == "Too many API requests. Your API key is limited to 3 requests per hour.", r.body
    # The live view's hand-off counts against the same hourly limit.
    r = request("GET", ENV["QUERY_URL"] + "/api/live?site_id=" + ENV["DEMO_SITE_ID"], None,
                {"authorization": "Bearer " + ENV["LIMITED_API_KEY"]})
    assert r.status == 429 and int(r.headers["retry-after"]) > 0, (r.status, r.body)
    # The window is the clock hour: seconds later the key is still held,
    # until the hour turns (Retry-After counts down to it).
    wait = int(r.headers["retry-after"])
    assert wait <= 3600
    if wait > 3:
        time.sleep(1.5)
        r = query(body, key=ENV["LIMITED_API_KEY"])
        assert r.status == 429 and wait - 4 <= int(r.headers["retry-after"]) < wait, (wait, r.status, r.headers)
    # Other keys are not affected.
    assert query(body).status == 200


def test_queries_beside_a_stream_of_events_never_meet_a_locked_database():
    # Ingest and the query worker share D1: locally two processes over one
    # SQLite file, where each meets the other's lock now and then (in
    # production, D1's transient errors). Every D1 statement is retried
    # then (shared/platform's d1.rs). Events for unknown hosts make ingest
    # read D1 every time (nothing cached), each query writes its key's
    # count: without the retries a third of both answered 503.
    body = {"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "day"}

    def asks(_):
        return [query(body).status for _ in range(60)]

    def sends(i):
        return [send({"n": "pageview", "u": "https://nowhere.example/"}, host=f"t-{uuid.uuid4().hex[:12]}.nowhere.localhost",
                     ip=f"10.77.{i}.{n + 1}").status for n in range(60)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        asked = pool.map(asks, range(2))
        sent = pool.map(sends, range(2))
        asked, sent = [s for part in asked for s in part], [s for part in sent for s in part]
    assert set(asked) == {200}, sorted(asked)
    assert set(sent) == {404}, sorted(sent)


def throttle(count, wait, status=429):
    """Has the AE stand-in turn the next `count` SQL requests away with
    `status`, as Cloudflare's API does (`Retry-After: wait`, for a 507 only
    when wait > 0)."""
    return request("POST", ENV["AE_LOCAL_URL"] + "/throttle", json.dumps({"count": count, "retry_after": wait, "status": status}),
                   {"content-type": "application/json"})


def test_when_analytics_engine_throttles_the_caller_is_told_when_to_retry(data):
    # The stand-in answers the next SQL request as the Cloudflare API answers
    # a token over its rate limit (429, Retry-After). That is Beacon's
    # capacity, not the caller's limit: a 503 with AE's wait. Until the wait
    # is over Beacon asks AE nothing (a token Cloudflare has blocked fails
    # every call anyway), so the stand-in, which would answer by then, is
    # not asked.
    wait = 3
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors", "bounce_rate"], "date_range": data["range"],
            "dimensions": ["visit:source"], "include": {"comparisons": {"mode": "previous_period"}}}
    assert throttle(1, wait).status == 200
    turned_away = time.monotonic()
    try:
        r = query(body)
        turned_away = time.monotonic()  # the wait began before this
        assert r.status == 503 and r.headers["retry-after"] == str(wait), (r.status, r.body)
        assert r.json() == {"error": "temporarily unavailable, retry later"}
        r = v1("aggregate", {"site_id": ENV["DEMO_DOMAIN"], "period": "day"})
        assert time.monotonic() - turned_away < wait - 1, "too slow to see the wait"
        assert r.status == 503 and 1 <= int(r.headers["retry-after"]) <= wait, (r.status, r.body)
    finally:
        # Even when this test fails, the tests after it must not meet the wait.
        throttle(0, 0)
        time.sleep(max(0.0, turned_away + wait + 0.2 - time.monotonic()))
    assert query(body).status == 200


def test_a_query_over_analytics_engines_resource_limit_asks_for_a_shorter_range(data):
    # Cloudflare's SQL API answers 507 past a resource limit: asking again
    # the same will not pass, so the caller is told what would, with AE's
    # Retry-After when it names one.
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["visitors"], "date_range": data["range"]}
    try:
        assert throttle(1, 0, 507).status == 200
        r = query(body)
        assert r.status == 503 and "retry-after" not in r.headers, (r.status, r.body)
        assert "shorter date range" in r.json()["error"], r.body
        assert throttle(1, 11, 507).status == 200
        r = v1("aggregate", {"site_id": ENV["DEMO_DOMAIN"], "period": "day"})
        assert r.status == 503 and r.headers["retry-after"] == "11", (r.status, r.body)
        assert "shorter date range" in r.json()["error"], r.body
    finally:
        throttle(0, 0)
    assert query(body).status == 200


# --- dashboard sessions ------------------------------------------------------

def as_user(cookie, site, path="/api/v2/query"):
    body = json.dumps({"site_id": site, "metrics": ["visitors"], "date_range": "all"})
    return request("POST", ENV["QUERY_URL"] + path, body, {"cookie": cookie, "content-type": "application/json"})


def test_a_session_sees_exactly_the_sites_it_names(data):
    demo_only = session_cookie([ENV["DEMO_SITE_ID"]])
    assert as_user(demo_only, ENV["DEMO_DOMAIN"]).status == 200
    assert as_user(demo_only, ENV["DEMO_SITE_ID"]).status == 200
    for other in [ENV["OTHER_SITE_ID"], ENV["OTHER_DOMAIN"], "paused", ENV["TEAM_SITE_ID"]]:
        r = as_user(demo_only, other)
        assert r.status == 404 and "results" not in r.body, (other, r.body)
    both = session_cookie([ENV["DEMO_SITE_ID"], ENV["OTHER_SITE_ID"]])
    assert as_user(both, ENV["OTHER_DOMAIN"]).status == 200
    assert as_user(both, "WWW." + ENV["OTHER_DOMAIN"].upper()).status == 200
    # Every listed site is readable, however many come before it, and ids
    # that name no site are ignored.
    many = session_cookie([f"gone{i}" for i in range(150)] + [ENV["OTHER_SITE_ID"]])
    assert as_user(many, ENV["OTHER_DOMAIN"]).status == 200
    assert as_user(many, ENV["DEMO_DOMAIN"]).status == 404
    assert as_user(session_cookie([]), ENV["DEMO_SITE_ID"]).status == 404
    for path in ["/api/v1/stats/aggregate", "/api/v1/stats/realtime/visitors"]:
        r = request("GET", ENV["QUERY_URL"] + path + "?site_id=" + ENV["OTHER_SITE_ID"], None, {"cookie": demo_only})
        assert r.status == 404, (path, r.body)
        r = request("GET", ENV["QUERY_URL"] + path + "?site_id=" + ENV["DEMO_DOMAIN"], None, {"cookie": demo_only})
        assert r.status == 200, (path, r.body)


def test_expired_forged_and_missing_sessions_are_401(data):
    expired = session_cookie([ENV["DEMO_SITE_ID"]], lifetime_s=-120)
    r = as_user(expired, ENV["DEMO_SITE_ID"])
    assert r.status == 401 and r.json()["error"] == "Session expired; log in again", r.body
    good = session_cookie([ENV["DEMO_SITE_ID"]])
    header, claims, sig = good.split("=", 1)[1].split(".")
    forged_claims = claims[:-4] + ("AAAA" if not claims.endswith("AAAA") else "BBBB")
    for cookie in [f"beacon_session={header}.{forged_claims}.{sig}", f"beacon_session={header}.{claims}.", "beacon_session=", "other=1"]:
        r = as_user(cookie, ENV["DEMO_SITE_ID"])
        want = "Missing API key" if cookie == "other=1" else "Invalid session"
        assert r.status == 401 and r.json()["error"].startswith(want), (cookie, r.body)


def test_the_dev_session_endpoint_refuses_a_lifetime_it_cannot_mint():
    """Dev only, but a request still never gets a 500: a lifetime past eight
    hours either way (chrono panics on one past its range) or not an
    integer is a 400 naming the field."""
    for lifetime in [28_801, -28_801, 2**63 - 1, -2**63, 1e300, "60", None, 1.5]:
        body = json.dumps({"sub": "u", "sites": [], "lifetime_s": lifetime})
        r = request("POST", ENV["QUERY_URL"] + "/__dev/session", body, {"content-type": "application/json"})
        assert r.status == 400 and r.json()["error"].startswith("#/lifetime_s: "), (lifetime, r.status, r.body)
    assert session_cookie([], lifetime_s=28_800) and session_cookie([], lifetime_s=-28_800)


# --- the remaining metrics, dimensions and date-range forms ---------------------

def test_entry_and_exit_pages_count_visits(data):
    m = data["model"]
    stats = [m.session_stats(s) for s in m.sessions]
    entry = as_table(q(data, metrics=["visits"], dimensions=["visit:entry_page"]))
    assert entry == {p: [sum(s["entry"] == p for s in stats)] for p in {s["entry"] for s in stats}}
    exits = {}
    for s in m.sessions:
        last = [e["path"] for e in s if e["name"] == "pageview"][-1]
        exits[last] = exits.get(last, 0) + 1
    assert as_table(q(data, metrics=["visits"], dimensions=["visit:exit_page"])) == {k: [v] for k, v in exits.items()}
    # And their hostnames: a visit from the site to its blog counts at each end.
    for dim, key in [("visit:entry_page_hostname", "entry_host"), ("visit:exit_page_hostname", "exit_host")]:
        want = {}
        for s in stats:
            want.setdefault(s[key], [0, 0, set()])
            want[s[key]][0] += 1
            want[s[key]][1] += s["bounce"]
            want[s[key]][2].add(s["visit"]["vid"])
        got = as_table(q(data, metrics=["visitors", "visits", "bounce_rate"], dimensions=[dim]))
        assert got == {h: [len(v), n, sql_round(b / n * 100)] for h, (n, b, v) in want.items()}, dim
    assert {s["entry_host"] for s in stats} != {s["exit_host"] for s in stats}


def test_a_visit_counts_at_its_last_page_only(data):
    """A session passes through temporary exit pages (each pageview cancels
    the last state); only its final one counts, for visitors too and when
    an exit page filters event metrics."""
    m = data["model"]

    def exit_of(s):
        return [e["path"] for e in s if e["name"] == "pageview"][-1]

    pages = {exit_of(s) for s in m.sessions}
    got = as_table(q(data, metrics=["visitors", "visits"], dimensions=["visit:exit_page"]))
    assert got == {p: [len({s[0]["vid"] for s in m.sessions if exit_of(s) == p}),
                       sum(exit_of(s) == p for s in m.sessions)] for p in pages}
    metrics = ["visitors", "pageviews", "events", "visits", "bounce_rate"]
    for page in pages:
        inside = {id(e) for s in m.sessions if exit_of(s) == page for e in s}
        want = m.aggregate(keep_event=lambda e: id(e) in inside, keep_session=lambda s: exit_of(s) == page)
        got = q(data, metrics=metrics, filters=[["is", "visit:exit_page", [page]]])
        assert got["results"][0]["metrics"] == [want[k] for k in metrics], page


def test_time_on_page_and_scroll_depth_by_page(data):
    m = data["model"]
    got = as_table(q(data, metrics=["visitors", "time_on_page", "scroll_depth"], dimensions=["event:page"]))
    for page, (visitors, top, sd) in got.items():
        evs = [e for e in m.events if e["path"] == page]
        engaged = [e for e in evs if e["name"] == "engagement"]
        assert visitors == len({e["vid"] for e in evs}), page
        # Plausible's per-visit figures over the visits with engagement on
        # the page: engagement time per visit, and each visit's deepest scroll.
        visits = [s for s in m.sessions if any(e in engaged for e in s)]
        # A page nobody engaged with has neither: null, as Plausible's are.
        assert top == (rnd(sum(e["payload"]["e"] for e in engaged) / 1000 / len(visits)) if visits else None), page
        deepest = [max(e["payload"]["sd"] for e in s if e in engaged) for s in visits]
        assert sd == (sql_round(sum(deepest) / len(deepest)) if deepest else None), page
    assert any(top is None for _, top, _ in got.values()) and any(top for _, top, _ in got.values()), got


def test_hostname_filters_keep_visits_as_plausible_does(data):
    # Event metrics count the events on the hostname; a visit counts if it
    # has any event there, except in breakdowns by where visits came from
    # (entered there, events too) and by exit page (left from there).
    m = data["model"]
    stats = {id(s): m.session_stats(s) for s in m.sessions}
    domain = ENV["DEMO_DOMAIN"]
    cases = [(["is", "event:hostname", [f"blog.{domain}"]], lambda h: h == f"blog.{domain}"),
             (["is_not", "event:hostname", [f"blog.{domain}"]], lambda h: h != f"blog.{domain}"),
             (["contains", "event:hostname", ["SHOP"], {"case_sensitive": False}], lambda h: "shop" in h),
             (["matches", "event:hostname", ["^[a-z]+[.]example$"]], lambda h: h == domain)]
    for f, hit in cases:
        a = m.aggregate(lambda e: hit(e["host"]), keep_session=lambda s: any(hit(e["host"]) for e in s))
        metrics = ["visitors", "pageviews", "events", "visits", "bounce_rate", "visit_duration"]
        got = q(data, metrics=metrics, filters=[f])["results"][0]["metrics"]
        assert got == [a[k] for k in metrics], f
        for dim, end, key in [("visit:exit_page", "exit_host", lambda s: [e["path"] for e in s if e["name"] == "pageview"][-1]),
                              ("visit:source", "entry_host", lambda s: s[0]["source"])]:
            want = {}
            for s in m.sessions:
                if hit(stats[id(s)][end]):
                    want[key(s)] = [want.get(key(s), [0])[0] + 1]
            assert as_table(q(data, metrics=["visits"], dimensions=[dim], filters=[f])) == want, (f, dim)
        # And visitors and pageviews by source: the events on the hostname of
        # the visits that entered there.
        entered = {id(e) for s in m.sessions if hit(stats[id(s)]["entry_host"]) for e in s}
        want = m.breakdown(lambda e: e["source"], ["visitors", "pageviews"], lambda e: hit(e["host"]) and id(e) in entered)
        assert as_table(q(data, metrics=["visitors", "pageviews"], dimensions=["visit:source"], filters=[f])) == want, f


def test_hostname_week_month_and_auto_time_buckets(data):
    m = data["model"]
    a = m.aggregate()
    # A visit counts under every hostname it has events on, as Plausible's do.
    by_host = m.breakdown(lambda e: e["host"], ["visitors", "pageviews"])
    for host, row in by_host.items():
        row.append(sum(any(e["host"] == host for e in s) for s in m.sessions))
    assert len(by_host) == 3 and sum(v[2] for v in by_host.values()) > a["visits"]
    assert as_table(q(data, metrics=["visitors", "pageviews", "visits"], dimensions=["event:hostname"])) == by_host
    d0 = data["d0"]

    def clipped(start):
        return max(start, d0).isoformat()

    # `time` over two days is by hour, as Plausible picks it (at most 48
    # whole hours).
    for dim, bucket in [("time:week", lambda t: clipped(t.date() - dt.timedelta(days=t.weekday()))),
                        ("time:month", lambda t: t.date().replace(day=1).isoformat()),
                        ("time", lambda t: t.strftime("%Y-%m-%d %H:00:00"))]:
        got = as_table(q(data, metrics=["pageviews"], dimensions=[dim]))
        assert got == m.breakdown(lambda e: bucket(utc(e["t"])), ["pageviews"]), dim


def test_iso_datetime_ranges_cut_by_instant(data):
    m = data["model"]
    d0 = data["range"][0]
    got = q(data, metrics=["pageviews", "visitors", "events"], date_range=[f"{d0}T12:05:00+02:00", f"{d0}T10:10:00Z"])
    lo = int(dt.datetime.fromisoformat(f"{d0}T10:05:00+00:00").timestamp() * 1000)
    hi = lo + 5 * 60_000
    # The end's second is in the range, as Plausible's `timestamp <= last`
    # (and the data set has an event in it, so this tells the two apart).
    a = m.aggregate(lambda e: lo <= e["t"] < hi + 1000)
    assert a != m.aggregate(lambda e: lo <= e["t"] < hi), "no event in the range's last second"
    assert got["results"][0]["metrics"] == [a["pageviews"], a["visitors"], a["events"]]
    assert got["query"]["date_range"] == [f"{d0}T10:05:00+00:00", f"{d0}T10:10:00+00:00"]


def test_a_page_filter_counts_bounces_of_the_visits_that_entered_there():
    # Plausible's bounce rate under a page filter (or by page) is that of
    # the visits entering on the page; visits count every visit through it.
    # Four one-day visits: A /landing (a bounce), B /landing then /other,
    # C /other then /landing, D /other (a bounce).
    d0, d1 = pick_days()
    events = []
    for i, pages in enumerate([["/landing"], ["/landing", "/other"], ["/other", "/landing"], ["/other"]]):
        for j, page in enumerate(pages):
            events.append({"t": at(d0, 9, i) + j * MIN, "ip": f"198.51.100.{i + 1}", "ua": FIREFOX, "country": "DE",
                           "region": "DE-BE", "city": "Berlin",
                           "payload": {"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{page}"}})
    send_all(events)
    wait_landed(d0, d1, len(events))
    base = {"site_id": ENV["DEMO_DOMAIN"], "date_range": [d0.isoformat(), d0.isoformat()]}
    landing = [["is", "event:page", ["/landing"]]]
    got = ok(query(dict(base, metrics=["visits", "bounce_rate"], filters=landing)))["results"]
    assert got == [{"metrics": [3, 50], "dimensions": []}], got
    # By page: each page's own entries; under the filter, only that page.
    got = as_table(ok(query(dict(base, metrics=["visitors", "bounce_rate"], dimensions=["event:page"]))))
    assert got == {"/landing": [3, 50], "/other": [3, 50]}, got
    got = as_table(ok(query(dict(base, metrics=["visitors", "bounce_rate"], dimensions=["event:page"], filters=landing))))
    assert got == {"/landing": [3, 50]}, got
    # Nested page filters stay filters on the visits' events.
    either = [["or", [["is", "event:page", ["/landing"]], ["is", "visit:country", ["FR"]]]]]
    got = ok(query(dict(base, metrics=["visits", "bounce_rate"], filters=either)))["results"]
    assert got == [{"metrics": [3, 33], "dimensions": []}], got


def test_random_credentials_methods_and_paths_get_a_clear_answer_never_a_5xx():
    """Scanners and broken clients: random Authorization headers and
    cookies, methods and paths. Each answer is JSON; an error is a 4xx
    with only `error`; a 200 only ever answers the demo key under the
    Bearer scheme (any case)."""
    import random

    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    key = ENV["DEMO_API_KEY"]
    junk = ["", "x", "a" * 5000, "bk_", key + "x", key[:-1], ENV["REVOKED_API_KEY"], ENV["OTHER_API_KEY"], "' OR 1=1 --",
            "\xe9\xff", "null", "%00", "Bearer " + key]
    authorizations = [f"{s} {t}" for s in ["Bearer", "bearer", "Basic", "Token", ""] for t in junk] + [f"Bearer {key}"]
    cookies = ["", "beacon_session=", "beacon_session=a.b.c", "beacon_session=" + "a" * 5000, "x=1; beacon_session=%%",
               "beacon_session=eyJhbGciOiJub25lIn0.e30."]
    paths = ["/api/v2/query", "/api/v1/stats/aggregate?site_id=demo", "/api/v1/stats/realtime/visitors?site_id=demo",
             "/api/v1/stats/breakdown?site_id=demo&property=event:page", "/api/live?site_id=demo", "/api/v2", "/"]
    body = json.dumps({"site_id": ENV["DEMO_SITE_ID"], "metrics": ["visitors"], "date_range": "day"})
    for _ in range(120):
        headers = {}
        if rng.random() < 0.8:
            headers["authorization"] = rng.choice(authorizations)
        if rng.random() < 0.3:
            headers["cookie"] = rng.choice(cookies)
        method, path = rng.choice(["GET", "POST", "PUT", "DELETE"]), rng.choice(paths)
        r = request(method, ENV["QUERY_URL"] + path, body if method in ("POST", "PUT") else None, headers)
        case = (seed, method, path, {k: v[:60] for k, v in headers.items()}, r.status, r.body[:200])
        assert r.status in (200, 400, 401, 404, 405, 426), case
        assert "json" in r.headers.get("content-type", ""), case
        if r.status >= 400:
            assert set(r.json()) == {"error"}, case
        else:
            # HTTP drops the value's outer spaces; the scheme is any case.
            scheme, _, token = headers.get("authorization", "").strip().partition(" ")
            assert scheme.lower() == "bearer" and token.strip() == key, case
