"""The tracker as the ingest worker serves it: caching headers, 304s, and
the size budget (1,200 bytes gzipped)."""

import gzip

from beacon import ENV, request

BUDGET = 1200


def get(path, headers=None):
    h = {"host": ENV["DEMO_HOST"]}
    h.update(headers or {})
    return request("GET", ENV["INGEST_URL"] + path, None, h)


def test_script_is_served_with_caching_headers():
    r = get("/js/script.js")
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/javascript")
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 18, etag
    assert "max-age=" in r.headers["cache-control"] and "stale-while-revalidate" in r.headers["cache-control"]
    assert "sendBeacon" in r.body and "/api/event" in r.body


def test_conditional_get_and_versioned_path():
    etag = get("/js/script.js").headers["etag"]
    r = get("/js/script.js", {"if-none-match": etag})
    assert r.status == 304 and r.body == ""
    assert get("/js/script.js", {"if-none-match": '"stale"'}).status == 200
    versioned = get(f"/js/script.{etag.strip(chr(34))}.js")
    assert versioned.status == 200 and "immutable" in versioned.headers["cache-control"]
    assert get("/js/script.0000000000000000.js").status == 404


def test_script_is_within_budget():
    body = get("/js/script.js").body.encode()
    size = len(gzip.compress(body, compresslevel=9))
    print(f"tracker: {len(body)} B raw, {size} B gzip -9 (budget {BUDGET})")
    assert size <= BUDGET, f"tracker is {size} B gzipped, over the {BUDGET} B budget"


def test_script_is_served_on_any_customer_hostname():
    # Serving the script does not depend on the site (only events do).
    assert get("/js/script.js", {"host": ENV["OTHER_HOST"]}).status == 200
