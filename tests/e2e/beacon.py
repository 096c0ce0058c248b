"""Helpers for end-to-end tests: the stack's URLs (from the dev.env contract),
sending events, and reading the AE stand-in back."""

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def load_env():
    """KEY=VALUE pairs from BEACON_ENV_FILE (default .beacon/dev.env)."""
    path = Path(os.environ.get("BEACON_ENV_FILE", ROOT / ".beacon" / "dev.env"))
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


ENV = load_env()


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    def json(self):
        return json.loads(self.body)


def request(method, url, body=None, headers=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, dict(resp.headers), resp.read().decode())
    except urllib.error.HTTPError as e:
        return Reply(e.code, dict(e.headers), e.read().decode())


def upgrade_headers():
    """The headers of a WebSocket handshake, for asking over plain HTTP."""
    return {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}


def session_cookie(sites, lifetime_s=None):
    """A dashboard session cookie naming `sites`, minted by the query
    worker's dev-only endpoint through the code login will use."""
    body = {"sub": "user_e2e", "sites": sites}
    if lifetime_s is not None:
        body["lifetime_s"] = lifetime_s
    r = request("POST", ENV["QUERY_URL"] + "/__dev/session", json.dumps(body), {"content-type": "application/json"})
    assert r.status == 200, r.body
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
    return "beacon_session=" + r.json()["token"]


def send(payload, host=None, ua=FIREFOX, ip="198.51.100.10", geo=None, content_type="text/plain", raw=None, headers=None):
    """POSTs one event to the ingest worker as a browser would."""
    extra_headers = headers
    headers = {"host": host or ENV["DEMO_HOST"], "content-type": content_type}
    # urllib sends its own user agent unless one is set; "" stands for none.
    headers["user-agent"] = ua if ua is not None else ""
    if ip:
        headers["cf-connecting-ip"] = ip
    if geo:
        headers["x-beacon-dev-geo"] = geo
    headers.update(extra_headers or {})
    body = raw if raw is not None else json.dumps(payload)
    return request("POST", ENV["INGEST_URL"] + "/api/event", body, headers)


def sql(query):
    """Runs SQL on the AE stand-in; returns the rows as dicts."""
    reply = request(
        "POST", ENV["AE_SQL_URL"], query + " FORMAT JSON", {"authorization": "Bearer " + ENV["AE_SQL_TOKEN"]}
    )
    assert reply.status == 200, reply.body
    return reply.json()["data"]


def wait_rows(query, count, timeout=20.0):
    """Polls until `query` returns `count` rows (writes land in wait_until)."""
    deadline = time.time() + timeout
    rows = sql(query)
    while len(rows) < count and time.time() < deadline:
        time.sleep(0.2)
        rows = sql(query)
    return rows


def d1_rows(query):
    """Runs a read-only query on the local stack's D1 database (the SQLite
    file wrangler keeps under STATE_DIR), for what no endpoint shows."""
    import sqlite3

    files = [p for p in Path(ENV["STATE_DIR"]).glob("wrangler/v3/d1/miniflare-D1DatabaseObject/*.sqlite")
             if p.name != "metadata.sqlite"]
    assert len(files) == 1, files
    with sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True) as db:
        return db.execute(query).fetchall()
