"""Sessions end to end: scripted visits through the real ingest endpoint
(placed in time with the dev clock), then session metrics from the AE
stand-in using only weighted aggregates over sign rows."""

import random
import time
import uuid

import pytest
from pytest import approx

from beacon import ENV, d1_rows
from sessions import DAY, MIN, base_time, metrics, new_visitor, pages, pageviews, visit, wait_events

RUN = "/s" + uuid.uuid4().hex[:8]
DEMO, OTHER = ENV["DEMO_SITE_ID"], ENV["OTHER_SITE_ID"]


def demo(path):
    return f"https://{ENV['DEMO_DOMAIN']}{RUN}{path}"


def other(path):
    return f"https://{ENV['OTHER_DOMAIN']}{RUN}{path}"


@pytest.fixture(scope="module")
def scripted():
    t = base_time()
    v1, v2 = new_visitor(), new_visitor()
    # Tenant demo. Visitor 1: three pages over 4 minutes, engagement at 5.
    visit(v1, t, "pageview", demo("/a"))
    visit(v1, t + 2 * MIN, "pageview", demo("/b"))
    visit(v1, t + 4 * MIN, "pageview", demo("/c"))
    visit(v1, t + 5 * MIN, "engagement", demo("/c"), interactive=False, extra={"e": 60000, "sd": 80})
    # Visitor 2: one page (a bounce) and 40 s of engagement.
    visit(v2, t + MIN, "pageview", demo("/x"))
    visit(v2, t + MIN + 40_000, "engagement", demo("/x"), interactive=False, extra={"e": 40000})
    # Visitor 1 again after 46 minutes idle: a new session, a bounce.
    visit(v1, t + 50 * MIN, "pageview", demo("/d"))
    # Tenant other, same person (same IP and browser): its own session.
    oh = ENV["OTHER_HOST"]
    visit(v1, t, "pageview", other("/q"), host=oh)
    visit(v1, t + MIN, "Signup", other("/q"), host=oh)
    visit(v1, t + 90_000, "pageview", other("/r"), host=oh)
    wait_events(DEMO, RUN, 7)
    wait_events(OTHER, RUN, 3)


def test_demo_session_metrics(scripted):
    m = metrics(DEMO, RUN)
    assert m["visits"] == 3
    assert m["bounce_rate"] == approx(2 / 3)
    # Engagement lengthens no visit (Plausible's): 240 s, and 0 for each bounce.
    assert m["visit_duration"] == approx((240 + 0 + 0) / 3)
    assert m["views_per_visit"] == approx(5 / 3)
    assert pageviews(DEMO, RUN) == 5


def test_demo_entry_and_exit_pages(scripted):
    assert pages(DEMO, RUN, "blob4") == {f"{RUN}/a": 1, f"{RUN}/x": 1, f"{RUN}/d": 1}
    assert pages(DEMO, RUN, "blob2") == {f"{RUN}/c": 1, f"{RUN}/x": 1, f"{RUN}/d": 1}


def test_other_tenant_has_its_own_sessions(scripted):
    m = metrics(OTHER, RUN)
    assert m["visits"] == 1
    assert m["bounce_rate"] == 0
    assert m["visit_duration"] == 90
    assert m["views_per_visit"] == 2
    assert pages(OTHER, RUN, "blob4") == {f"{RUN}/q": 1}
    assert pages(OTHER, RUN, "blob2") == {f"{RUN}/r": 1}


def test_event_rows_carry_the_session(scripted):
    from beacon import sql

    rows = sql(
        f"SELECT blob1, blob2, blob4, double5 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 "
        f"AND startsWith(blob2, '{RUN}') ORDER BY double11"
    )
    first_visit = [r for r in rows if r["blob4"] == f"{RUN}/a"]
    assert [r["blob2"] for r in first_visit] == [f"{RUN}/a", f"{RUN}/b", f"{RUN}/c", f"{RUN}/c"]
    assert len({r["double5"] for r in first_visit}) == 1 and first_visit[0]["double5"] > 0


def test_an_engagement_with_no_visit_open_is_dropped():
    """Plausible drops an engagement whose visitor has no visit open (a
    long read whose beacon comes after 30 idle minutes): accepted (202),
    but no row, and no visit. One in an open visit lands."""
    from beacon import FIREFOX, send, sql

    t = base_time()
    run = RUN + "e"
    ip = new_visitor()
    url = lambda p: f"https://{ENV['DEMO_DOMAIN']}{run}{p}"
    late = {"n": "engagement", "u": url("/late"), "e": 90_000, "sd": 100, "i": False}
    r = send(late, ip=ip, ua=FIREFOX, headers={"x-beacon-dev-time": str(t)})
    assert r.status == 202, (r.status, r.body)
    # Over 30 minutes later, so the dropped engagement joins this visit
    # whichever of the two the object sees first.
    visit(ip, t + 31 * MIN, "pageview", url("/read"))
    visit(ip, t + 33 * MIN, "engagement", url("/read"), interactive=False, extra={"e": 5000, "sd": 40})
    wait_events(DEMO, run, 2)
    time.sleep(1.0)  # a wrongly kept engagement would have landed by now
    rows = sql(f"SELECT blob1, blob2 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 "
               f"AND startsWith(blob2, '{run}') ORDER BY double11")
    assert [(r["blob1"], r["blob2"]) for r in rows] == [("pageview", f"{run}/read"), ("engagement", f"{run}/read")]
    assert metrics(DEMO, run)["visits"] == 1


def test_an_event_late_past_the_timeout_keeps_both_visits():
    """A retried beacon of a visit's first pageview, delivered after the
    visitor's next visit began (over 30 minutes later): its row lands, with
    no visit, and neither visit is counted twice nor cut short."""
    from beacon import sql

    t = base_time()
    run = RUN + "l"
    ip = new_visitor()
    url = lambda p: f"https://{ENV['DEMO_DOMAIN']}{run}{p}"
    visit(ip, t, "pageview", url("/a"))
    visit(ip, t + 31 * MIN, "pageview", url("/b"))
    visit(ip, t, "pageview", url("/a"))  # late
    visit(ip, t + 33 * MIN, "pageview", url("/c"))
    assert metrics(DEMO, run)["visits"] == 2
    assert pages(DEMO, run, "blob2") == {f"{run}/a": 1, f"{run}/c": 1}
    assert metrics(DEMO, run)["visit_duration"] == 60
    rows = sql(f"SELECT blob2, double5 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 "
               f"AND startsWith(blob2, '{run}') ORDER BY double11, double5")
    assert [(r["blob2"], r["double5"] == 0) for r in rows] == [
        (f"{run}/a", True), (f"{run}/a", False), (f"{run}/b", False), (f"{run}/c", False)]


def test_session_survives_midnight_salt_rotation():
    """The visitor id changes with the daily salt; the object also looks the
    visitor up under yesterday's, so the visit goes on across midnight."""
    day = 86_400_000
    midnight = (base_time() // day) * day  # today 00:00 UTC
    run = RUN + "m"
    ip = new_visitor()
    url = lambda p: f"https://{ENV['DEMO_DOMAIN']}{run}{p}"
    visit(ip, midnight - 2 * MIN, "pageview", url("/before"))
    # Minutes apart in real life: let the first land (and create its day's salt).
    wait_events(DEMO, run, 1)
    visit(ip, midnight + 3 * MIN, "pageview", url("/after"))
    wait_events(DEMO, run, 2)
    m = metrics(DEMO, run)
    assert m["visits"] == 1
    assert m["visit_duration"] == 300
    assert pages(DEMO, run, "blob2") == {f"{run}/after": 1}
    # ...and the later event counts as the same visitor
    from beacon import sql

    ids = sql(f"SELECT DISTINCT double4 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 AND startsWith(blob2, '{run}')")
    assert len(ids) == 1


def test_idle_sessions_are_pruned():
    """The object's pruning (its alarm's work, run on demand in dev) drops a
    session idle for over 30 minutes, so the next event starts a new one;
    without pruning the same gap continues the visit."""
    import time

    from beacon import request

    now = int(time.time() * 1000)
    run = RUN + "p"
    url = lambda p: f"https://{ENV['DEMO_DOMAIN']}{run}{p}"
    pruned, kept = new_visitor(), new_visitor()
    visit(pruned, now - 40 * MIN, "pageview", url("/a1"))
    wait_events(DEMO, run, 1)
    r = request("POST", ENV["INGEST_URL"] + "/__dev/prune", "", {"host": ENV["DEMO_HOST"]})
    assert r.status == 200 and "sessions_left" in r.json()
    visit(pruned, now - 39 * MIN, "pageview", url("/a2"))
    wait_events(DEMO, run, 2)
    visit(kept, now - 40 * MIN, "pageview", url("/b1"))
    wait_events(DEMO, run, 3)
    visit(kept, now - 39 * MIN, "pageview", url("/b2"))
    wait_events(DEMO, run, 4)
    assert pages(DEMO, run, "blob4") == {f"{run}/a1": 1, f"{run}/a2": 1, f"{run}/b1": 1}


def test_a_days_first_salt_deletes_those_older_than_the_day_before():
    """Salts are rotated and deleted: making a day's salt deletes every salt
    older than the day before it (which may still continue a visit across
    midnight). Far-past days nothing else uses, so these events make the
    salts in question and touch no other test's."""
    old = base_time() // DAY - 3000 - random.randint(0, 1000)
    run = RUN + "x"
    ip = new_visitor()

    def salts_by(day, want):
        deadline = time.time() + 20
        while (have := {d for (d,) in d1_rows(f"SELECT day FROM salts WHERE day BETWEEN {old - 5} AND {old}")}) != want:
            assert time.time() < deadline, (day - old, sorted(d - old for d in have), sorted(d - old for d in want))
            time.sleep(0.2)

    # Today's salt, made now if no event has made it yet, is left alone.
    now = int(time.time() * 1000)
    visit(ip, now, "pageview", f"https://{ENV['DEMO_DOMAIN']}{run}/today")
    wait_events(DEMO, run, 1)
    today = d1_rows(f"SELECT salt FROM salts WHERE day = {now // DAY}")
    assert len(today) == 1
    for day, want in [(old - 5, {old - 5}), (old - 1, {old - 1}), (old, {old - 1, old})]:
        visit(ip, day * DAY + 12 * 60 * MIN, "pageview", f"https://{ENV['DEMO_DOMAIN']}{run}/{day - old}")
        salts_by(day, want)
    assert d1_rows(f"SELECT salt FROM salts WHERE day = {now // DAY}") == today
