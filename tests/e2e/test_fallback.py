"""With the site object unreachable, an accepted event is still written
(as its event row, without session rows), counts in no visit's figures,
and realtime is read from AE. scripts/test runs this with a stack
started without the object (BEACON_FALLBACK=1); otherwise skipped."""

import datetime as dt
import os
import time
import uuid

import pytest

from beacon import ENV, request, sql, upgrade_headers
from sessions import MIN, current_visitors_between, current_visitors_bounds, new_visitor, visit, wait_events
from stats_data import ok, query

pytestmark = pytest.mark.skipif(os.environ.get("BEACON_FALLBACK") != "1", reason="needs a stack without the site object")


def test_event_row_is_written_without_the_object():
    run = "/f" + uuid.uuid4().hex[:8]
    site = ENV["DEMO_SITE_ID"]
    visit(new_visitor(), None, "pageview", f"https://{ENV['DEMO_DOMAIN']}{run}/a")
    rows = wait_events(site, run, 1)
    assert [r["blob2"] for r in rows] == [f"{run}/a"]
    event = sql(f"SELECT double4, double5, blob4 FROM EVENTS WHERE index1 = '{site}' AND startsWith(blob2, '{run}')")
    assert len(event) == 1, "no session rows without the object"
    assert event[0]["double4"] > 0 and event[0]["double5"] == 0 and event[0]["blob4"] == ""


def test_engagement_without_a_visit_counts_in_no_visit():
    """Engagements written without the object have no visit (session id
    0): scroll depth and time on page are per visit, so they count in
    none, rather than pooling into one made-up visit."""
    run = "/fe" + uuid.uuid4().hex[:8]
    page = f"https://{ENV['DEMO_DOMAIN']}{run}/e"
    visit(new_visitor(), None, "pageview", page)
    for sd in (30, 90):
        visit(new_visitor(), None, "engagement", page, interactive=False, extra={"e": 60_000, "sd": sd})
    wait_events(ENV["DEMO_SITE_ID"], run, 3)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    span = [(now - dt.timedelta(hours=1)).isoformat(), (now + dt.timedelta(hours=1)).isoformat()]
    body = {"site_id": ENV["DEMO_DOMAIN"], "metrics": ["pageviews", "scroll_depth", "time_on_page"], "date_range": span,
            "dimensions": ["event:page"], "filters": [["is", "event:page", [f"{run}/e"]]]}
    out = ok(query(body))
    assert [row["metrics"] for row in out["results"]] == [[1, None, None]], out


def test_realtime_is_read_from_ae_and_the_live_view_is_unavailable():
    """Realtime is Plausible's current visitors: without the object that
    counts them, the same count from AE (visitors seen now are in it, one
    whose only recent event is an engagement is not), never a 503 or a
    made-up zero. The live view is the object's alone: a clear 503."""
    run = "/rt" + uuid.uuid4().hex[:8]
    site = ENV["DEMO_SITE_ID"]
    for ip in [new_visitor(), new_visitor()]:
        visit(ip, None, "pageview", f"https://{ENV['DEMO_DOMAIN']}{run}/a")
    visit(new_visitor(), None, "engagement", f"https://{ENV['DEMO_DOMAIN']}{run}/e", extra={"e": 5000, "sd": 40})
    wait_events(site, run, 3)
    key = {"authorization": "Bearer " + ENV["DEMO_API_KEY"]}
    t0 = int(time.time() * 1000)
    r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + ENV["DEMO_DOMAIN"], None, key)
    t1 = int(time.time() * 1000)
    assert r.status == 200, (r.status, r.body)
    least, most = current_visitors_bounds(site, t0, t1)
    assert isinstance(r.json(), int) and 2 <= least <= r.json() <= most, (least, r.body, most)
    r = request("GET", ENV["QUERY_URL"] + "/api/live?site_id=" + ENV["DEMO_DOMAIN"], None, {**key, **upgrade_headers()})
    assert r.status == 503 and "error" in r.json(), (r.status, r.body)


def test_realtime_from_ae_is_the_callers_site_only():
    """Another tenant's key: the demo site, by id or domain, is not found;
    its own site's count from AE holds none of the demo site's visitors."""
    run = "/x" + uuid.uuid4().hex[:8]
    visit(new_visitor(), None, "pageview", f"https://{ENV['DEMO_DOMAIN']}{run}")
    wait_events(ENV["DEMO_SITE_ID"], run, 1)
    other = {"authorization": "Bearer " + ENV["OTHER_API_KEY"]}
    for named in [ENV["DEMO_SITE_ID"], ENV["DEMO_DOMAIN"]]:
        r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + named, None, other)
        assert r.status == 404 and "error" in r.json(), (named, r.status, r.body)
    t0 = int(time.time() * 1000)
    r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + ENV["OTHER_DOMAIN"], None, other)
    assert r.status == 200, (r.status, r.body)
    assert r.json() == current_visitors_between(ENV["OTHER_SITE_ID"], t0 - 5 * MIN - 1000, int(time.time() * 1000) + 1000)
    assert current_visitors_between(ENV["DEMO_SITE_ID"], t0 - 5 * MIN, t0 + 1000) > r.json()
