"""The live view: a WebSocket (hibernation API) on the site object, handed
over by the query worker only to a caller who may read the site (an API key
of its team, or a dashboard session naming it), as the Stats API is."""

import asyncio
import json
import time
import uuid
from urllib.parse import urlencode, urlparse

import websockets

from beacon import ENV, FIREFOX, request, send, session_cookie, upgrade_headers
from sessions import MIN, new_visitor

RUN = "/l" + uuid.uuid4().hex[:8]
QUERY = urlparse(ENV["QUERY_URL"])


def live_path(site=None, token=None):
    params = {"site_id": ENV["DEMO_SITE_ID"] if site is None else site}
    if token:
        params["token"] = token
    return "/api/live?" + urlencode(params)


def ws_connect(token=None, site=None, headers=None, subprotocols=None):
    uri = f"ws://{QUERY.hostname}:{QUERY.port}{live_path(site, token)}"
    return websockets.connect(uri, additional_headers=headers, subprotocols=subprotocols, open_timeout=20)


def get_live(headers, site=None, method="GET"):
    return request(method, ENV["QUERY_URL"] + live_path(site), None, headers)


def bearer(key):
    return {**upgrade_headers(), "authorization": f"Bearer {key}"}


def test_refused_without_rights():
    assert get_live(upgrade_headers()).status == 401
    for key in [ENV["REVOKED_API_KEY"], "bk_made_up"]:
        r = get_live(bearer(key))
        assert r.status == 401 and "error" in r.json(), (key, r.body)
    # Another tenant's valid key sees nothing of this site, by id or domain;
    # nor does this site's key see another tenant's.
    for site in [ENV["DEMO_SITE_ID"], ENV["DEMO_DOMAIN"]]:
        r = get_live(bearer(ENV["OTHER_API_KEY"]), site)
        assert r.status == 404 and "error" in r.json(), (site, r.body)
    for site in [ENV["OTHER_SITE_ID"], ENV["OTHER_DOMAIN"], "paused"]:
        r = get_live(bearer(ENV["DEMO_API_KEY"]), site)
        assert r.status == 404 and "error" in r.json(), (site, r.body)
    r = get_live({"authorization": f"Bearer {ENV['DEMO_API_KEY']}"})
    assert r.status == 426 and "error" in r.json()
    # Without a site, or an empty one: 400, as realtime and any query without one.
    r = request("GET", ENV["QUERY_URL"] + "/api/live", None, bearer(ENV["DEMO_API_KEY"]))
    assert r.status == 400 and "site_id" in r.json()["error"], r.body
    r = get_live(bearer(ENV["DEMO_API_KEY"]), "")
    assert r.status == 400 and r.json()["error"] == "Missing site ID. Please provide the required site_id parameter with your request.", r.body
    r = get_live({"authorization": f"Bearer {ENV['DEMO_API_KEY']}"}, method="POST")
    assert r.status == 405 and "error" in r.json()


def handshake(token=None, site=None, headers=None, subprotocols=None):
    """Opens the live view: (101, the protocol it named, its first view), or
    (the refusal's status, None, None)."""
    async def attempt():
        try:
            async with ws_connect(token, site, headers, subprotocols) as ws:
                view = json.loads(await asyncio.wait_for(ws.recv(), 10))
                return 101, ws.subprotocol, view
        except websockets.exceptions.InvalidStatus as e:
            return e.response.status_code, None, None

    return asyncio.run(attempt())


def test_refused_over_websocket_too():
    def attempt(token=None, site=None, headers=None):
        return handshake(token, site, headers)[0]

    assert attempt() == 401
    assert attempt(ENV["OTHER_API_KEY"]) == 404
    assert attempt(ENV["DEMO_API_KEY"], ENV["OTHER_SITE_ID"]) == 404
    # A dashboard session reads the live view of the sites it names only.
    demo_only = {"cookie": session_cookie([ENV["DEMO_SITE_ID"]])}
    assert attempt(site=ENV["DEMO_DOMAIN"], headers=demo_only) == 101
    assert attempt(site=ENV["OTHER_SITE_ID"], headers=demo_only) == 404
    expired = {"cookie": session_cookie([ENV["DEMO_SITE_ID"]], lifetime_s=-120)}
    assert attempt(headers=expired) == 401


def test_a_key_may_come_as_a_subprotocol():
    """What a browser can send instead of `?token=`, out of the URL (and so
    of request logs): the key as a subprotocol beside `beacon.live`, which
    the 101 names (never the key's)."""
    def attempt(key, offered=("beacon.live",), site=None, headers=None):
        protocols = [*offered, f"beacon.key.{key}"] if key else list(offered)
        return handshake(site=site, headers=headers, subprotocols=protocols)

    status, chosen, view = attempt(ENV["DEMO_API_KEY"])
    assert (status, chosen) == (101, "beacon.live") and len(view["pageviews_per_minute"]) == 30
    # By domain, with the key the only protocol offered: no protocol the
    # 101 may name, so it names none.
    assert attempt(ENV["DEMO_API_KEY"], offered=(), site=ENV["DEMO_DOMAIN"])[:2] == (101, None)
    # The same checks as any key: another tenant's, a revoked or unknown
    # key, another tenant's site.
    assert attempt(ENV["OTHER_API_KEY"])[0] == 404
    assert attempt(ENV["DEMO_API_KEY"], site=ENV["OTHER_SITE_ID"])[0] == 404
    assert attempt(ENV["DEMO_API_KEY"], site=ENV["OTHER_DOMAIN"])[0] == 404
    for key in [ENV["REVOKED_API_KEY"], "bk_made_up"]:
        assert attempt(key)[0] == 401, key
    # `Authorization` wins over a subprotocol key, as over `?token=`.
    wrong = {"authorization": f"Bearer {ENV['OTHER_API_KEY']}"}
    assert attempt(ENV["DEMO_API_KEY"], headers=wrong)[0] == 404
    # A session offering `beacon.live` gets it named too.
    cookie = {"cookie": session_cookie([ENV["DEMO_SITE_ID"]])}
    assert attempt(None, headers=cookie)[:2] == (101, "beacon.live")
    # Only the live view reads keys there: the Stats API still wants a header.
    r = request("GET", ENV["QUERY_URL"] + "/api/v1/stats/realtime/visitors?site_id=" + ENV["DEMO_SITE_ID"], None,
                {"sec-websocket-protocol": f"beacon.live, beacon.key.{ENV['DEMO_API_KEY']}"})
    assert r.status == 401, r.body


def test_a_dashboard_session_watches_the_sites_it_names():
    async def scenario():
        cookie = {"cookie": session_cookie([ENV["DEMO_SITE_ID"]])}
        async with ws_connect(site=ENV["DEMO_DOMAIN"], headers=cookie) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert len(first["pageviews_per_minute"]) == 30
            # A page of its own: the other tests look at this run's pages.
            page = "/w" + uuid.uuid4().hex[:8]
            headers = {"x-beacon-dev-time": str(first["at_ms"])}
            assert send({"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{page}"}, ip=new_visitor(), ua=FIREFOX,
                        headers=headers).status == 202
            await next_view(ws, lambda v: {"page": page, "visitors": 1} in v["pages"])

    asyncio.run(scenario())


def test_ingest_hostnames_do_not_serve_it():
    r = request("GET", ENV["INGEST_URL"] + "/api/live", None, {**bearer(ENV["DEMO_API_KEY"]), "host": ENV["DEMO_HOST"]})
    assert r.status == 404


def pageview(ip, path, at=None):
    headers = {"x-beacon-dev-time": str(at)} if at else None
    r = send({"n": "pageview", "u": f"https://{ENV['DEMO_DOMAIN']}{RUN}{path}"}, ip=ip, ua=FIREFOX, headers=headers)
    assert r.status == 202


def mine(view):
    """This run's pages in a live view, by page."""
    return sorted((p for p in view["pages"] if p["page"].startswith(RUN + "/")), key=lambda p: p["page"])


async def next_view(ws, until, timeout=10):
    """Reads pushes until one satisfies `until`; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.time()))
        if until(view):
            return view
    raise AssertionError("no matching live view")


def test_live_count_rises_and_falls():
    async def scenario():
        async with ws_connect(ENV["DEMO_API_KEY"]) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert len(first["pageviews_per_minute"]) == 30
            # A stack reused within minutes still holds the last run's
            # visitors, and its "/three" one (6 minutes ahead) moved the
            # object's clock ahead with it: events are timed from the
            # object's "now", and only this run's pages are looked at.
            at = first["at_ms"]
            pageview(new_visitor(), "/one", at=at)
            v = await next_view(ws, lambda v: mine(v) == [{"page": f"{RUN}/one", "visitors": 1}])
            assert v["visitors"] >= 1
            pageview(new_visitor(), "/two", at=at)
            v = await next_view(ws, lambda v: len(mine(v)) == 2)
            assert mine(v) == [{"page": f"{RUN}/one", "visitors": 1}, {"page": f"{RUN}/two", "visitors": 1}]
            assert v["visitors"] >= 2 and sum(v["pageviews_per_minute"]) >= 2
            # Six minutes later (dev clock) only the newest visitor is live.
            pageview(new_visitor(), "/three", at=at + 6 * MIN)
            v = await next_view(ws, lambda v: any(p["page"] == f"{RUN}/three" for p in v["pages"]))
            assert mine(v) == [{"page": f"{RUN}/three", "visitors": 1}]
            assert v["visitors"] == sum(p["visitors"] for p in v["pages"])
            # ping/pong is answered without waking the object
            await ws.send("ping")
            assert await asyncio.wait_for(ws.recv(), 5) == "pong"

    asyncio.run(scenario())


async def pushes_until(ws, t_end, times):
    """Notes the monotonic time of each push received until `t_end`."""
    while time.monotonic() < t_end:
        try:
            await asyncio.wait_for(ws.recv(), max(0.01, t_end - time.monotonic()))
            times.append(time.monotonic())
        except asyncio.TimeoutError:
            return


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def test_pushes_are_at_most_one_per_second():
    async def scenario():
        async with ws_connect(ENV["DEMO_API_KEY"]) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            times = []
            for i in range(8):
                pageview(new_visitor(), f"/burst{i}")
            await pushes_until(ws, time.monotonic() + 3.5, times)
            assert times, "no push at all"
            assert all(g >= 0.9 for g in gaps(times)), gaps(times)
            assert len(times) <= 5

    asyncio.run(scenario())


def test_a_refresh_just_after_a_push_waits_its_turn():
    """The 10-second refresh (an alarm) keeps to one push a second too: an
    event pushed just before it makes it wait, not push twice."""
    async def scenario():
        async with ws_connect(ENV["DEMO_API_KEY"]) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            times = []
            # Two events in a second: one push at once, one owed and sent by
            # the alarm, which then arms the refresh 10 s on.
            pageview(new_visitor(), "/r1")
            pageview(new_visitor(), "/r2")
            await pushes_until(ws, time.monotonic() + 3, times)
            assert len(times) >= 2, times
            owed = times[-1]
            # An event 0.6 s before the refresh is pushed at once ...
            await pushes_until(ws, owed + 9.4, times)
            pageview(new_visitor(), "/r3")
            await pushes_until(ws, owed + 13, times)
            assert all(g >= 0.9 for g in gaps(times)), gaps(times)
            # ... and the refresh still goes out, a second after that push.
            assert sum(1 for t in times if t > owed + 9) >= 2, [t - owed for t in times]

    asyncio.run(scenario())
