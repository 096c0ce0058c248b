"""Ingest end to end: events through the real worker land in the AE
stand-in exactly as expected, and nothing else does."""

import json
import pathlib
import time
import uuid

import pytest

from beacon import ENV, FIREFOX, IPHONE, request, send, sql, wait_rows

RUN = uuid.uuid4().hex[:10]
DEMO = ENV["DEMO_SITE_ID"]
OTHER = ENV["OTHER_SITE_ID"]
DOMAIN = ENV["DEMO_DOMAIN"]
PREFIX = f"/e2e-{RUN}"
# The Google app on Android names itself as the referrer.
GOOGLE_APP = "android-app://com.google.android.googlequicksearchbox/https/www.google.com"


def url(path, query=""):
    return f"https://{DOMAIN}{PREFIX}{path}{query}"


def rows_for(site, extra=""):
    return sql(
        f"SELECT * FROM EVENTS WHERE index1 = '{site}' AND double1 = 1 AND startsWith(blob2, '{PREFIX}') {extra} ORDER BY blob2"
    )


@pytest.fixture(scope="module")
def scripted_mix():
    """Sends the whole mix once; tests check its outcome from every angle."""
    replies = {}
    replies["pageview"] = send(
        {"n": "pageview", "u": url("/a", "?utm_source=newsletter&utm_medium=email&utm_campaign=launch"),
         "d": DOMAIN, "r": "https://www.google.com/search?q=beacon"},
        geo="DE;BE;Berlin", ip="198.51.100.11",
    )
    replies["custom"] = send(
        {"name": "Signup", "url": url("/b"), "domain": DOMAIN,
         "props": {"plan": "pro", "seats": 3, "trial": True, "nested": {"x": 1}, "empty": "", "emoji 🎉": "ünïcode ✓"}},
        ua=IPHONE, geo="US;CA;San Francisco", ip="198.51.100.12", content_type="application/json",
    )
    replies["revenue"] = send(
        {"n": "Purchase", "u": url("/c"), "$": {"amount": "19.99", "currency": "eur"}, "p": "{\"sku\":\"A-1\"}",
         "r": GOOGLE_APP},
        ip="198.51.100.13",
    )
    # An engagement keeps a visit open: its visit's pageview lands first
    # (Plausible drops an engagement with no visit).
    replies["read"] = send({"n": "pageview", "u": url("/d0")}, ip="198.51.100.14")
    wait_rows(f"SELECT blob2 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 AND blob2 = '{PREFIX}/d0'", 1)
    replies["engagement"] = send(
        {"n": "engagement", "u": url("/d"), "e": 4200, "sd": 73, "i": False}, ip="198.51.100.14"
    )
    replies["other_tenant"] = send(
        {"n": "pageview", "u": f"https://{ENV['OTHER_DOMAIN']}{PREFIX}/other"}, host=ENV["OTHER_HOST"], ip="198.51.100.15"
    )
    # Everything below must leave no row.
    replies["bot"] = send({"n": "pageview", "u": url("/bot")}, ua="Mozilla/5.0 (compatible; Googlebot/2.1)")
    replies["headless"] = send({"n": "pageview", "u": url("/headless")}, ua="Mozilla/5.0 HeadlessChrome/120.0.0.0")
    replies["no_ua"] = send({"n": "pageview", "u": url("/no-ua")}, ua=None)
    replies["spam"] = send({"n": "pageview", "u": url("/spam"), "r": "https://semalt.com/"})
    replies["bad_json"] = send(None, raw="{not json")
    replies["bad_utf8"] = send(None, raw=b'{"n":"pageview","u":"\xff\xfe"}')
    replies["no_name"] = send({"u": url("/no-name")})
    replies["bad_url"] = send({"n": "pageview", "u": "data:text/html,hi"})
    replies["long_url"] = send({"n": "pageview", "u": url("/" + "x" * 10_000)})
    replies["bad_props"] = send({"n": "pageview", "u": url("/bad-props"), "p": [1, 2]})
    replies["too_many_props"] = send({"n": "x", "u": url("/many"), "p": {f"k{i}": "v" for i in range(31)}})
    replies["wrong_domain"] = send({"n": "pageview", "u": url("/wrong"), "d": "someone-else.example"})
    replies["cross_domain"] = send({"n": "pageview", "u": url("/cross"), "d": ENV["OTHER_DOMAIN"]})
    replies["oversize"] = send(None, raw='{"n":"pageview","u":"' + url("/big") + '","p":{"k":"' + "v" * 70_000 + '"}}')
    replies["unknown_host"] = send({"n": "pageview", "u": url("/unknown")}, host="t.nobody.localhost")
    replies["inactive_host"] = send({"n": "pageview", "u": url("/inactive")}, host=ENV["INACTIVE_HOST"])
    replies["pending_host"] = send({"n": "pageview", "u": url("/pending")}, host="t.pending.localhost")
    expected_rows = 5
    demo_rows = wait_rows(
        f"SELECT blob2 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 AND startsWith(blob2, '{PREFIX}')", expected_rows
    )
    wait_rows(f"SELECT blob2 FROM EVENTS WHERE index1 = '{OTHER}' AND double1 = 1 AND startsWith(blob2, '{PREFIX}')", 1)
    time.sleep(1.0)  # let any wrongly accepted stragglers land, so "nothing else" is meaningful
    return replies, demo_rows


def test_statuses(scripted_mix):
    replies, _ = scripted_mix
    expected = {
        "pageview": 202, "custom": 202, "revenue": 202, "read": 202, "engagement": 202, "other_tenant": 202,
        "bot": 202, "headless": 202, "no_ua": 202, "spam": 202,
        "bad_json": 400, "bad_utf8": 400, "no_name": 400, "bad_url": 400, "long_url": 400,
        "bad_props": 400, "too_many_props": 400, "wrong_domain": 400, "cross_domain": 400,
        "oversize": 413, "unknown_host": 404, "inactive_host": 404, "pending_host": 404,
    }
    got = {k: r.status for k, r in replies.items()}
    assert got == expected
    # No cookie on visitors, whatever the answer.
    assert [k for k, r in replies.items() if "set-cookie" in r.headers] == []


def test_errors_are_json_naming_the_field(scripted_mix):
    replies, _ = scripted_mix
    fields = {"no_name": "name", "bad_url": "url", "long_url": "url", "bad_props": "props",
              "too_many_props": "props", "wrong_domain": "domain", "cross_domain": "domain"}
    for key, field in fields.items():
        body = replies[key].json()
        assert body["error"].startswith(field + ":"), (key, body)
        assert replies[key].headers["content-type"] == "application/json"
    for key in ["bad_json", "bad_utf8", "oversize", "unknown_host", "inactive_host"]:
        assert set(replies[key].json()) == {"error"}, key


def test_drops_say_why(scripted_mix):
    replies, _ = scripted_mix
    assert replies["bot"].headers["x-beacon-dropped"] == "bot"
    assert replies["headless"].headers["x-beacon-dropped"] == "bot"
    assert replies["no_ua"].headers["x-beacon-dropped"] == "no_user_agent"
    # Matomo's referrer spam list, as Plausible drops it
    assert replies["spam"].headers["x-beacon-dropped"] == "spam_referrer"
    assert "x-beacon-dropped" not in replies["pageview"].headers


def test_rows_field_by_field(scripted_mix):
    rows = {r["blob2"]: r for r in rows_for(DEMO)}
    assert sorted(rows) == [f"{PREFIX}/a", f"{PREFIX}/b", f"{PREFIX}/c", f"{PREFIX}/d", f"{PREFIX}/d0"]

    a = rows[f"{PREFIX}/a"]
    assert (a["blob1"], a["blob3"], a["blob5"], a["blob6"], a["blob7"]) == (
        "pageview", DOMAIN, "google.com/search", "newsletter", "Email")
    assert (a["blob8"], a["blob9"], a["blob10"], a["blob11"], a["blob12"]) == ("email", "newsletter", "launch", "", "")
    assert (a["blob13"], a["blob14"], a["blob15"]) == ("DE", "DE-BE", "Berlin")
    assert (a["blob16"], a["blob17"], a["blob18"], a["blob19"]) == ("Firefox", "121.0", "GNU/Linux", "")
    assert a["blob20"] == ""
    assert a["double1"] == 1 and a["double2"] == 1 and a["double3"] == 1  # event row, sign, desktop
    assert a["double8"] == 1 and a["double6"] == 0
    assert a["_sample_interval"] == 1

    b = rows[f"{PREFIX}/b"]
    assert b["blob1"] == "Signup"
    assert json.loads(b["blob20"]) == {"plan": "pro", "seats": "3", "trial": "true", "emoji 🎉": "ünïcode ✓"}
    assert (b["blob13"], b["blob14"], b["blob15"]) == ("US", "US-CA", "San Francisco")
    assert (b["blob16"], b["blob18"], b["blob19"], b["double3"]) == ("Safari", "iOS", "17.1", 2)
    assert (b["blob6"], b["blob7"]) == ("", "Direct")

    c = rows[f"{PREFIX}/c"]
    assert c["blob1"] == "Purchase"
    assert c["double6"] == pytest.approx(19.99)
    eur = (ord("E") - 65) * 676 + (ord("U") - 65) * 26 + (ord("R") - 65)
    assert c["double7"] == eur
    assert json.loads(c["blob20"]) == {"sku": "A-1"}
    assert (c["blob5"], c["blob6"], c["blob7"]) == (GOOGLE_APP, "Google", "Organic Search")

    d = rows[f"{PREFIX}/d"]
    assert d["blob1"] == "engagement"
    assert (d["double8"], d["double9"], d["double10"]) == (0, 4200, 73)

    # distinct visitors (different IPs), each a 52-bit id
    ids = {r["double4"] for r in rows.values()}
    assert len(ids) == 4 and all(0 < i < 2**52 for i in ids)
    # event time is now-ish
    assert all(abs(r["double11"] / 1000 - time.time()) < 600 for r in rows.values())


def test_other_tenant_is_isolated(scripted_mix):
    other = rows_for(OTHER)
    assert [r["blob2"] for r in other] == [f"{PREFIX}/other"]
    assert other[0]["blob3"] == ENV["OTHER_DOMAIN"]
    demo_paths = {r["blob2"] for r in rows_for(DEMO)}
    assert f"{PREFIX}/other" not in demo_paths


def test_nothing_from_rejected_requests(scripted_mix):
    everywhere = sql(f"SELECT index1, blob2 FROM EVENTS WHERE double1 = 1 AND startsWith(blob2, '{PREFIX}')")
    assert len(everywhere) == 6
    for r in everywhere:
        assert r["index1"] in (DEMO, OTHER)


def test_no_ip_address_is_stored(scripted_mix):
    dump = json.dumps(sql("SELECT * FROM EVENTS"))
    for ip in ["198.51.100.", "127.0.0.1"]:
        assert ip not in dump
    # Nor in D1, KV, the site objects' storage or the stack's logs: every
    # file of the local state but the AE stand-in's (compressed, and read
    # above through SQL).
    state = pathlib.Path(ENV["STATE_DIR"])
    files = [p for p in state.rglob("*") if p.is_file() and "ae" not in p.relative_to(state).parts[:1]]
    assert any(p.suffix == ".sqlite" for p in files), files
    assert [str(p) for p in files if b"198.51.100." in p.read_bytes()] == []


def test_preflight_and_methods():
    host = {"host": ENV["DEMO_HOST"], "origin": "https://demo.example",
            "access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    r = request("OPTIONS", ENV["INGEST_URL"] + "/api/event", None, host)
    assert r.status == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"]
    r = request("GET", ENV["INGEST_URL"] + "/api/event", None, {"host": ENV["DEMO_HOST"]})
    assert r.status == 405 and "POST" in r.headers["allow"] and "error" in r.json()
    r = request("PUT", ENV["INGEST_URL"] + "/api/event", "{}", {"host": ENV["DEMO_HOST"]})
    assert r.status == 405
    r = request("GET", ENV["INGEST_URL"] + "/nope", None, {"host": ENV["DEMO_HOST"]})
    assert r.status == 404 and "error" in r.json()


def send_chunked(chunks, ip=None):
    """POSTs an event body without Content-Length, as `chunks`; returns the
    status and the reply's body."""
    import http.client
    from urllib.parse import urlparse

    u = urlparse(ENV["INGEST_URL"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"host": ENV["DEMO_HOST"], "user-agent": FIREFOX, "transfer-encoding": "chunked"}
    if ip:
        headers["cf-connecting-ip"] = ip
    conn.request("POST", "/api/event", body=chunks, headers=headers, encode_chunked=True)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_chunked_oversize_body_is_413():
    """A body without Content-Length is still bounded while streaming."""
    status, reply = send_chunked(b"x" * 8192 for _ in range(10))
    assert status == 413
    assert "error" in json.loads(reply)


def test_a_body_of_exactly_the_cap_is_taken_and_one_byte_more_is_413():
    """64 KiB, with Content-Length and streamed: the boundary sits where
    the limit says, on both read paths."""
    cap = 64 * 1024

    def body(path, size):
        event = json.dumps({"n": "pageview", "u": url(path)}).encode()
        return event + b" " * (size - len(event))

    def streamed(raw):
        return send_chunked((raw[i:i + 8192] for i in range(0, len(raw), 8192)), ip="198.51.100.31")

    assert send(None, raw=body("/cap-declared", cap), ip="198.51.100.30").status == 202
    assert streamed(body("/cap-streamed", cap))[0] == 202
    r = send(None, raw=body("/cap-declared-over", cap + 1), ip="198.51.100.30")
    assert r.status == 413 and "error" in r.json()
    status, reply = streamed(body("/cap-streamed-over", cap + 1))
    assert status == 413 and "error" in json.loads(reply)
    cap_rows = (f"SELECT blob2 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 "
                f"AND startsWith(blob2, '{PREFIX}/cap-') ORDER BY blob2")
    wait_rows(cap_rows, 2)
    time.sleep(1)  # an over-cap body that was wrongly taken would land by now
    assert [r["blob2"] for r in sql(cap_rows)] == [f"{PREFIX}/cap-declared", f"{PREFIX}/cap-streamed"]


def test_random_bodies_and_headers_get_a_clear_answer_never_a_5xx():
    """Hand-written clients and scanners: random payloads, content types,
    user agents, IPs, geo and clock overrides. Each answer is 202 or a
    4xx with a JSON error; the rows that land are the accepted ones'."""
    import random

    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    run = f"{PREFIX}/fuzz-{seed}"
    junk = ["", "null", "[]", "{", "\x00", "\u202e", "'; DROP TABLE sites; --", "\\", "%", "%%", "😀" * 50, "a" * 3000,
            "https:Bücher.de/", "HTTP:\\\\Bücher.de", "javascript:alert(1)", "https://[::1", "https://a b/", "0", "-1", "1e309"]

    def value():
        return rng.choice([rng.choice(junk), rng.randint(-2**63, 2**64), rng.random(), True, None, [], {}, {"k": rng.choice(junk)}])

    # Each field with a value it takes, or junk half of the time.
    fields = {"r": "https://www.google.com/search?q=x", "d": DOMAIN, "p": {"plan": "pro"}, "h": 1, "i": False, "e": 1500,
              "sd": 40, "$": {"amount": "9.5", "currency": "EUR"}, "props": {"k": 1}, "referrer": "android-app://x.y/",
              "x": 1}
    landed = []  # the pages of accepted events on this run's pages
    for i in range(150):
        payload = {"n": rng.choice(["pageview", "Signup", "engagement", value()]),
                   "u": rng.choice([url(f"/fuzz-{seed}/{i}"), url(f"/fuzz-{seed}/{i}", f"?{rng.choice(junk)}"), value()])}
        for key in rng.sample(sorted(fields), rng.randint(0, 3)):
            payload[key] = fields[key] if rng.random() < 0.5 else value()
        raw = json.dumps(payload) if rng.random() < 0.9 else rng.choice(junk)
        headers = {"x-beacon-dev-time": rng.choice(["", "-5", "abc", "99999999999999999999", str(2**64), "1e3"])} if rng.random() < 0.3 else {}
        if rng.random() < 0.3:
            headers["x-beacon-dev-geo"] = rng.choice(["", ";;", "ZZ;;", "DE;BE;Berlin;extra", "é;é;é", "D"])
        r = send(None, raw=raw, ip=rng.choice(["198.51.100.40", "", "not-an-ip", "::1", "999.1.1.1"]),
                 ua=rng.choice([FIREFOX, IPHONE, "", "x" * 2000, "Mozilla/5.0 \xe9\xff"]),
                 content_type=rng.choice(["text/plain", "application/json", "", "multipart/form-data; boundary=x"]),
                 headers=headers)
        assert r.status == 202 or 400 <= r.status < 500, (seed, payload, headers, r.status, r.body)
        if r.status >= 400:
            assert "error" in r.json(), (seed, r.body)
        elif ("x-beacon-dropped" not in r.headers and str(payload["u"]).startswith(f"https://{DOMAIN}{run}/")
              and payload["n"] != "engagement"):
            landed.append(f"{run}/{i}")
    assert landed, seed
    # Every accepted event lands, once. (An engagement lands only if its
    # visitor has a visit open, which the random mix leaves to chance.)
    fuzz_rows = (f"SELECT blob2 FROM EVENTS WHERE index1 = '{DEMO}' AND double1 = 1 "
                 f"AND blob1 != 'engagement' AND startsWith(blob2, '{run}/') ORDER BY blob2")
    wait_rows(fuzz_rows, len(landed))
    time.sleep(1)
    assert [r["blob2"] for r in sql(fuzz_rows)] == sorted(landed), seed
