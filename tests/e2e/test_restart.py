"""A session survives a restart of the whole stack (site object state is in
its storage). scripts/test runs this file twice around a restart, with
BEACON_RESTART_PHASE=before and then =after; otherwise it is skipped."""

import json
import os
import uuid

import pytest
from pytest import approx

from beacon import ENV
from sessions import MIN, base_time, metrics, new_visitor, pages, visit, wait_events

PHASE = os.environ.get("BEACON_RESTART_PHASE")
STATE = os.environ.get("BEACON_RESTART_STATE", "")
pytestmark = pytest.mark.skipif(PHASE not in ("before", "after"), reason="run by scripts/test around a restart")
SITE = ENV["DEMO_SITE_ID"]


def url(run, path):
    return f"https://{ENV['DEMO_DOMAIN']}{run}{path}"


def test_session_continues_across_restart():
    if PHASE == "before":
        run, ip, t = "/r" + uuid.uuid4().hex[:8], new_visitor(), base_time()
        visit(ip, t, "pageview", url(run, "/a"))
        visit(ip, t + 2 * MIN, "pageview", url(run, "/b"))
        wait_events(SITE, run, 2)
        with open(STATE, "w") as f:
            json.dump({"run": run, "ip": ip, "t": t}, f)
        assert metrics(SITE, run)["visits"] == 1
        return
    with open(STATE) as f:
        saved = json.load(f)
    run, ip, t = saved["run"], saved["ip"], saved["t"]
    visit(ip, t + 4 * MIN, "pageview", url(run, "/c"))
    wait_events(SITE, run, 3)
    m = metrics(SITE, run)
    assert m["visits"] == 1, "the restart split the session"
    assert m["visit_duration"] == 240
    assert m["views_per_visit"] == 3
    assert m["bounce_rate"] == approx(0)
    assert pages(SITE, run, "blob4") == {f"{run}/a": 1}
    assert pages(SITE, run, "blob2") == {f"{run}/c": 1}
