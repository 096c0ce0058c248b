"""Periods and time buckets in the site's own time zone, end to end: events
sent through ingest to the team's second site (America/New_York) around its
local midnights, answered as an independent model computes them with
Python's zoneinfo (never the code under test)."""

import datetime as dt
import random
import zoneinfo
from collections import defaultdict

import pytest

import stats_data
from beacon import ENV, FIREFOX, request, send
from stats_data import as_table, is_bounce, ok, query, sql_round, wait_rows

ZONE = zoneinfo.ZoneInfo(ENV["TEAM_TIMEZONE"])


def local_ms(day, hour, minute):
    """A local wall-clock time of the site's zone, as Unix ms."""
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).timestamp() * 1000)


def local(ms):
    return dt.datetime.fromtimestamp(ms / 1000, ZONE)


def site_rows(lo_ms, hi_ms, kind=None):
    return stats_data.site_rows(ENV["TEAM_SITE_ID"], lo_ms, hi_ms, kind)


@pytest.fixture(scope="module")
def data():
    """Three local days A, B, C, free of other data, and what was sent."""
    today = dt.datetime.now(ZONE).date()
    for _ in range(200):
        a = today - dt.timedelta(days=random.randint(10, 80))
        days = [a + dt.timedelta(days=i) for i in range(3)]
        if site_rows(local_ms(a, 0, 0) - 2 * 86_400_000, local_ms(days[2], 0, 0) + 3 * 86_400_000) == 0:
            break
    else:
        raise AssertionError("no free days on the team site: restart the stack")
    a, b, c = days
    salt = random.randint(1, 250)
    # (visitor, local time, name, path): a visit in A's afternoon, one
    # across local midnight (A into B), one just after midnight, one at noon with a Signup, one in
    # the evening of B that is already C in UTC, one over three hours of B,
    # and one just after C began.
    script = [
        (7, (a, 15, 0), "pageview", "/afternoon"), (7, (a, 15, 4), "pageview", "/tea"),
        (1, (a, 23, 30), "pageview", "/late"), (1, (a, 23, 50), "pageview", "/later"), (1, (b, 0, 10), "pageview", "/after"),
        (2, (b, 0, 30), "pageview", "/after"),
        (3, (b, 12, 0), "pageview", "/noon"), (3, (b, 12, 1), "Signup", "/noon"),
        (4, (b, 19, 30), "pageview", "/evening"), (4, (b, 19, 40), "pageview", "/evening"),
        (5, (b, 9, 50), "pageview", "/b1"), (5, (b, 10, 15), "pageview", "/b2"), (5, (b, 10, 40), "pageview", "/b3"),
        (5, (b, 11, 5), "pageview", "/b4"),
        (6, (c, 0, 0), "pageview", "/first"),
    ]
    events = []
    lo, hi = local_ms(a, 0, 0), local_ms(c, 0, 0) + 86_400_000
    for visitor, (day, hour, minute), name, path in script:
        t = local_ms(day, hour, minute) + (30_000 if (visitor, hour, minute) == (6, 0, 0) else 0)
        ip = f"198.19.{salt}.{visitor}"
        events.append({"t": t, "ip": ip, "vid": f"{ip}@{t // 86_400_000}", "name": name, "path": path})
        r = send({"n": name, "u": f"https://{ENV['TEAM_DOMAIN']}{path}"}, host=ENV["TEAM_HOST"], ip=ip, ua=FIREFOX,
                 headers={"x-beacon-dev-time": str(t)})
        assert r.status == 202, (r.status, r.body)
        # One at a time: ingest hands events to the site object after its
        # 202, so back-to-back sends may reach it out of order, and the
        # midnight visit's first and last events are 40 minutes apart (a
        # real browser cannot send them out of order).
        wait_rows(ENV["TEAM_SITE_ID"], lo, hi, len(events), poll=0.05)
    return {"days": days, "events": events}


def ask(body):
    return ok(query(dict({"site_id": ENV["TEAM_DOMAIN"]}, **body)))


def counts(events):
    return [len({e["vid"] for e in events}), sum(e["name"] == "pageview" for e in events), len(events)]


def test_a_date_range_is_whole_local_days(data):
    a, b, c = data["days"]
    for first, last in [(a, a), (b, b), (c, c), (a, b), (b, c)]:
        got = ask({"metrics": ["visitors", "pageviews", "events"], "date_range": [first.isoformat(), last.isoformat()]})
        want = counts([e for e in data["events"] if first <= local(e["t"]).date() <= last])
        assert got["results"][0]["metrics"] == want, (first, last)


def test_days_and_hours_are_local_buckets(data):
    a, b, c = data["days"]
    by_day = defaultdict(list)
    for e in data["events"]:
        by_day[local(e["t"]).date().isoformat()].append(e)
    got = ask({"metrics": ["visitors", "pageviews", "events"], "date_range": [a.isoformat(), c.isoformat()], "dimensions": ["time:day"],
               "include": {"time_labels": True}})
    assert as_table(got) == {day: counts(evs) for day, evs in by_day.items()}
    assert got["meta"]["time_labels"] == [d.isoformat() for d in data["days"]]
    by_hour = defaultdict(list)
    for e in data["events"]:
        if local(e["t"]).date() == b:
            by_hour[local(e["t"]).strftime("%Y-%m-%d %H:00:00")].append(e)
    got = ask({"metrics": ["visitors", "pageviews", "events"], "date_range": [b.isoformat(), b.isoformat()], "dimensions": ["time:hour"]})
    assert as_table(got) == {hour: counts(evs) for hour, evs in by_hour.items()}


def visits_of(data):
    """The visits sent, each a list of events (each visitor makes one)."""
    visits = defaultdict(list)
    for e in data["events"]:
        visits[e["ip"]].append(e)
    return list(visits.values())


def summary(vs):
    """visits, bounce_rate and visit_duration of the visits `vs`."""
    bounces = sum(is_bounce(v) for v in vs)
    duration = sum((v[-1]["t"] - v[0]["t"]) // 1000 for v in vs)
    return [len(vs), sql_round(bounces / len(vs) * 100), sql_round(duration / len(vs))]


def test_visits_count_where_active_and_bucket_by_their_last_event(data):
    """Plausible's sessions: a period counts every visit active in it (last
    event at or after its start, first before its end), and a day takes a
    visit by its last event, capped at the period's last second."""
    a, b, c = data["days"]
    visits = visits_of(data)
    metrics = ["visits", "bounce_rate", "visit_duration"]
    for first, last in [(a, a), (b, b), (c, c), (a, c)]:
        lo, hi = local_ms(first, 0, 0), local_ms(last + dt.timedelta(days=1), 0, 0)
        active = [v for v in visits if v[-1]["t"] >= lo and v[0]["t"] < hi]
        got = ask({"metrics": metrics, "date_range": [first.isoformat(), last.isoformat()]})
        assert got["results"][0]["metrics"] == summary(active), (first, last)
        by_day = defaultdict(list)
        for v in active:
            by_day[local(min(v[-1]["t"], hi - 1000)).date().isoformat()].append(v)
        got = ask({"metrics": metrics, "date_range": [first.isoformat(), last.isoformat()], "dimensions": ["time:day"]})
        assert as_table(got) == {day: summary(vs) for day, vs in by_day.items()}, (first, last)
    # The visit across A's midnight counts on both days; by day it is B's,
    # unless the period ends with A.
    crossing = [v for v in visits if local(v[0]["t"]).date() == a and local(v[-1]["t"]).date() == b]
    assert len(crossing) == 1
    day_a = ask({"metrics": ["visits"], "date_range": [a.isoformat(), a.isoformat()], "dimensions": ["time:day"]})
    assert as_table(day_a) == {a.isoformat(): [2]}
    # Under an event filter too, though the visit's earlier (cancelled)
    # states ended on A.
    late = ask({"metrics": ["visits"], "date_range": [a.isoformat(), c.isoformat()], "dimensions": ["time:day"],
                "filters": [["is", "event:page", ["/late"]]]})
    assert as_table(late) == {b.isoformat(): [1]}


def statements_since_last_call():
    """How many SQL statements the AE stand-in ran since this was last asked."""
    r = request("GET", ENV["AE_LOCAL_URL"] + "/timings")
    assert r.status == 200, r.body
    return len(r.json()["statements"])


def test_a_comparison_counts_a_visit_active_in_both_periods(data):
    """An aggregate's comparison is read in the main period's statements
    where the periods' events do not overlap (events grouped by period,
    visits summed per period): two statements, not four. The visit across
    A's midnight is then a visit of both days, and each side answers what
    its own range answers alone."""
    a, b, c = data["days"]
    visits = visits_of(data)
    metrics = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"]
    span = lambda first, last: [first.isoformat(), last.isoformat()]
    cases = [
        (span(b, b), {"mode": "previous_period"}, span(a, a), 2),
        (span(a, a), {"mode": "custom", "date_range": span(b, b)}, span(b, b), 2),
        (span(b, c), {"mode": "previous_period"}, span(a - dt.timedelta(days=1), a), 2),
        # Overlapping events cannot be grouped by period: asked apart.
        (span(a, b), {"mode": "custom", "date_range": span(b, c)}, span(b, c), 4),
    ]
    for main, comparison, other, sent in cases:
        statements_since_last_call()
        row = ask({"metrics": metrics, "date_range": main, "include": {"comparisons": comparison}})["results"][0]
        assert statements_since_last_call() == sent, (main, comparison)
        assert row["metrics"] == ask({"metrics": metrics, "date_range": main})["results"][0]["metrics"], (main, comparison)
        alone = ask({"metrics": metrics, "date_range": other})["results"][0]["metrics"]
        assert row["comparison"]["metrics"] == alone, (main, comparison)
        for got, (first, last) in [(row["metrics"], main), (row["comparison"]["metrics"], other)]:
            lo = local_ms(dt.date.fromisoformat(first), 0, 0)
            hi = local_ms(dt.date.fromisoformat(last) + dt.timedelta(days=1), 0, 0)
            active = [v for v in visits if v[-1]["t"] >= lo and v[0]["t"] < hi]
            events = [e for e in data["events"] if lo <= e["t"] < hi]
            assert [got[0], got[2], got[6]] == counts(events), (main, comparison, first)
            assert [got[1], got[4], got[5]] == summary(active), (main, comparison, first)
    # The data set holds such a visit, and one of A alone.
    assert [v for v in visits if local(v[0]["t"]).date() == a and local(v[-1]["t"]).date() == b]
    assert [v for v in visits if local(v[-1]["t"]).date() == a]


def test_by_hour_a_visit_counts_in_every_hour_it_was_active(data):
    """Plausible spreads a visit over every hour from its first event (or
    the period's start) to its last (or the period's end): the visit from
    09:50 to 11:05 is a visit of 09:00, 10:00 and 11:00. Visitors are those
    with an event in the hour (a visit has one in every hour it spans)."""
    a, b, c = data["days"]
    hour_ms = 3_600_000  # New York's offset is whole hours: UTC hours are local hours

    def hours(v, lo, hi):
        first, last = max(v[0]["t"], lo), min(v[-1]["t"], hi - 1000)
        return {local(t).strftime("%Y-%m-%d %H:00:00") for t in range(first - first % hour_ms, last + 1, hour_ms)}

    for first, last in [(b, b), (a, b)]:
        lo, hi = local_ms(first, 0, 0), local_ms(last + dt.timedelta(days=1), 0, 0)
        by_hour, seen = defaultdict(list), defaultdict(set)
        for v in visits_of(data):
            if v[-1]["t"] >= lo and v[0]["t"] < hi:
                for h in hours(v, lo, hi):
                    by_hour[h].append(v)
        for e in data["events"]:
            if lo <= e["t"] < hi:
                seen[local(e["t"]).strftime("%Y-%m-%d %H:00:00")].add(e["vid"])
        got = ask({"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "date_range": [first.isoformat(), last.isoformat()],
                   "dimensions": ["time:hour"]})
        assert as_table(got) == {h: [len(seen[h])] + summary(vs) for h, vs in by_hour.items()}, (first, last)
    spread = [h[11:13] for h in by_hour if h.startswith(b.isoformat())]
    assert {"09", "10", "11"} <= set(spread) and f"{a.isoformat()} 23:00:00" in by_hour
    # Under an event filter the visit that had the event counts in all its
    # hours, as Plausible's sessions joined with the filtered events do.
    got = ask({"metrics": ["visits"], "date_range": [b.isoformat(), b.isoformat()], "dimensions": ["time:hour"],
               "filters": [["is", "event:page", ["/b3"]]]})
    assert as_table(got) == {f"{b.isoformat()} {h}:00:00": [1] for h in ("09", "10", "11")}


def hourly(day):
    got = ask({"metrics": ["pageviews"], "date_range": [day, day], "dimensions": ["time:hour"], "include": {"time_labels": True}})
    return as_table(got), got["meta"]["time_labels"]


@pytest.mark.parametrize("day, sent, expected", [
    # Clocks go back at 02:00 EDT: both 01:00 hours are one wall-clock bucket.
    ("2025-11-02", ["2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z", "2025-11-02T07:30:00Z"],
     {"2025-11-02 01:00:00": 2, "2025-11-02 02:00:00": 1}),
    # Clocks skip 02:00 EST: it stays listed, and empty.
    ("2026-03-08", ["2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"], {"2026-03-08 01:00:00": 1, "2026-03-08 03:00:00": 1}),
])
def test_dst_nights_bucket_by_the_wall_clock(day, sent, expected):
    # Fixed dates, so the answer is read as a change: re-runs add to it.
    before, _ = hourly(day)
    start = int(dt.datetime.fromisoformat(sent[0].replace("Z", "+00:00")).timestamp() * 1000)
    already = site_rows(start, start + 86_400_000, kind=1)
    salt = random.randint(1, 250)
    for i, iso in enumerate(sent):
        t = int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
        r = send({"n": "pageview", "u": f"https://{ENV['TEAM_DOMAIN']}/dst"}, host=ENV["TEAM_HOST"], ip=f"198.20.{salt}.{i + 1}",
                 headers={"x-beacon-dev-time": str(t)})
        assert r.status == 202, (r.status, r.body)
    # Landed in the stand-in first, so the answer holds them.
    wait_rows(ENV["TEAM_SITE_ID"], start, start + 86_400_000, already + len(sent))
    after, labels = hourly(day)
    grown = {h: after.get(h, [0])[0] - before.get(h, [0])[0] for h in set(after) | set(before)}
    assert {h: n for h, n in grown.items() if n} == expected
    assert labels == [f"{day} {h:02}:00:00" for h in range(24)]
