"""With the site object unreachable, an accepted event is still written
(as its event row, without session rows). scripts/test runs this with a
stack started without the object (BEACON_FALLBACK=1); otherwise skipped."""

import os
import uuid

import pytest

from beacon import ENV, request, sql, upgrade_headers
from sessions import new_visitor, visit, wait_events

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


def test_readers_of_the_object_say_it_is_unavailable():
    """The realtime count and the live view are the object's: without it,
    a clear 503 (never a 500 or a made-up zero)."""
    key = {"authorization": "Bearer " + ENV["DEMO_API_KEY"]}
    r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + ENV["DEMO_DOMAIN"], None, key)
    assert r.status == 503 and "error" in r.json(), (r.status, r.body)
    r = request("GET", ENV["QUERY_URL"] + "/api/live?site_id=" + ENV["DEMO_DOMAIN"], None, {**key, **upgrade_headers()})
    assert r.status == 503 and "error" in r.json(), (r.status, r.body)
