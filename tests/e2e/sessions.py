"""Helpers for session tests: scripted visits in time, and session metrics
read back with only weighted aggregates over sign rows (as AE SQL allows)."""

import random
import time
from urllib.parse import urlsplit

from beacon import FIREFOX, send, sql, wait_rows

MIN = 60_000
DAY = 86_400_000


def new_visitor():
    """A fresh visitor: an IP no other run has used (the hash takes IP and UA)."""
    return f"203.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def base_time():
    """A time an hour ago, so scripted visits stay in the past; moved back
    so that the hour after it holds no UTC midnight. Scripts send a visit's
    events back to back, and ingest handles each after answering: across a
    midnight, the next event could be hashed before the day-old salt that
    links it to the visit exists (runs between 00:55 and 01:00 UTC split
    their visits). Real visits are seconds apart, and that salt was made the
    day before."""
    t = int(time.time() * 1000) - 60 * MIN
    next_midnight = (t // DAY + 1) * DAY
    return min(t, next_midnight - 60 * MIN)


def visit(ip, at, name, url, host=None, interactive=True, extra=None):
    """Sends one event of a scripted visit at `at` (dev clock), and waits
    until its row has landed. Ingest hands an event to the site object
    after its 202, so back-to-back sends can reach the object out of order;
    a browser's events are seconds apart, the script's are not. Without the
    wait, a late first pageview leaves the events before it with another
    entry page, and an engagement handled before any pageview is dropped
    (no visit to keep open). With `at` None (the real clock) it does not wait."""
    payload = {"n": name, "u": url}
    if not interactive:
        payload["i"] = False
    payload.update(extra or {})
    headers = {"x-beacon-dev-time": str(at)} if at is not None else None
    mine = None
    if at is not None:
        path = urlsplit(url).path.replace("'", "''")
        mine = f"SELECT blob1 FROM EVENTS WHERE double1 = 1 AND double11 = {at} AND blob2 = '{path}'"
        before = len(sql(mine))
    r = send(payload, host=host, ip=ip, ua=FIREFOX, headers=headers)
    assert r.status == 202, (r.status, r.body)
    if mine is not None:
        assert len(wait_rows(mine, before + 1)) > before, f"the event at {at} on {url} did not land"
    return r


def metrics(site, prefix):
    """Visits, bounce rate, visit duration, views per visit for sessions whose
    entry page starts with `prefix`, from sign rows only."""
    w = "_sample_interval * double2"
    rows = sql(
        f"SELECT sum({w}) AS visits, sum({w} * double12) / sum({w}) AS bounce_rate, "
        f"sum({w} * double13) / sum({w}) AS visit_duration, sum({w} * double14) / sum({w}) AS views_per_visit "
        f"FROM EVENTS WHERE index1 = '{site}' AND double1 = 2 AND startsWith(blob4, '{prefix}')"
    )
    return rows[0]


def pages(site, prefix, column):
    """Visits per entry (blob4) or exit (blob2) page, zero sums left out."""
    rows = sql(
        f"SELECT {column} AS page, sum(_sample_interval * double2) AS visits FROM EVENTS "
        f"WHERE index1 = '{site}' AND double1 = 2 AND startsWith(blob4, '{prefix}') GROUP BY {column}"
    )
    return {r["page"]: r["visits"] for r in rows if r["visits"] != 0}


def pageviews(site, prefix):
    return sql(
        f"SELECT sum(_sample_interval) AS n FROM EVENTS WHERE index1 = '{site}' AND double1 = 1 "
        f"AND blob1 = 'pageview' AND startsWith(blob2, '{prefix}')"
    )[0]["n"]


def wait_events(site, prefix, count):
    return wait_rows(
        f"SELECT blob2 FROM EVENTS WHERE index1 = '{site}' AND double1 = 1 AND startsWith(blob2, '{prefix}')", count
    )


def current_visitors_between(site, from_ms, to_ms):
    """The stand-in's own count of Plausible's current visitors over
    [from_ms, to_ms]: distinct visitors with an event other than engagement."""
    rows = sql(f"SELECT count(DISTINCT double4) AS n FROM EVENTS WHERE index1 = '{site}' AND double1 = 1 "
               f"AND blob1 != 'engagement' AND timestamp >= toDateTime({from_ms // 1000}) "
               f"AND timestamp <= toDateTime({to_ms // 1000})")
    return int(rows[0]["n"])


def current_visitors_bounds(site, t0, t1):
    """What a realtime count read between t0 and t1 (ms) may be: at least
    the visitors seen in every five-minute window ending then, at most
    those seen in any (a second's slack for rounding)."""
    least = current_visitors_between(site, t1 - 5 * MIN + 1000, t0)
    most = current_visitors_between(site, t0 - 5 * MIN - 1000, t1 + 1000)
    return least, most
