"""A generated, fixed data set for the Stats API golden tests, sent through
the real ingest endpoint, and an independent model of Plausible's metric
definitions that computes the expected answers from the same script (it
never calls the code under test)."""

import datetime as dt
import json
import os
import random
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from beacon import ENV, FIREFOX, IPHONE, request, send, sql

MIN = 60_000


def rnd(x, places=0):
    """Rounds half away from zero, as Plausible rounds in Elixir (a
    comparison's change); Python's round() rounds half to even."""
    q = Decimal(1).scaleb(-places)
    v = Decimal(repr(x)).quantize(q, rounding=ROUND_HALF_UP)
    return int(v) if places == 0 else float(v)


def sql_round(x, places=0):
    """ClickHouse's round(x, places) on a Float64, where Plausible's SQL
    rounds its rates and averages: scaled, then a tie to even (Python's
    round() on the scaled float; checked against chDB). Pass x computed in
    SQL's order, e.g. a / b * 100."""
    v = round(x * 10**places)
    return int(v) if places == 0 else v / 10**places


def query(body, key=None, raw=None):
    """POST /api/v2/query with the demo key (another `key`, or none for "")."""
    headers = {"content-type": "application/json"}
    if key != "":
        headers["authorization"] = "Bearer " + (key or ENV["DEMO_API_KEY"])
    data = raw if raw is not None else json.dumps(body)
    return request("POST", ENV["QUERY_URL"] + "/api/v2/query", data, headers)


def ok(reply):
    """The JSON of a 200 reply."""
    assert reply.status == 200, (reply.status, reply.body)
    return reply.json()


def pick_days():
    """Two consecutive UTC days well inside AE's retention, neither Feb 29,
    with no demo data on them or on the two days either side, so modules
    and re-runs against a long-lived dev stack never mix data sets."""
    today = dt.datetime.now(dt.timezone.utc).date()
    for _ in range(200):
        d0 = today - dt.timedelta(days=random.randint(10, 80))
        d1 = d0 + dt.timedelta(days=1)
        if (d0.month, d0.day) == (2, 29) or (d1.month, d1.day) == (2, 29):
            continue  # year-over-year tests shift by a calendar year
        # Free with two days on either side: a comparison with the previous
        # period reads the two days before, and no other set may land there.
        if site_rows(ENV["DEMO_SITE_ID"], at(d0, 0) - 2 * 86_400_000, at(d1, 0) + 3 * 86_400_000) == 0:
            return d0, d1
    raise AssertionError("no free pair of days for a golden data set: restart the stack")


# The demo site's goals (scripts/seed.sql) as the model reads them: which
# events complete each, by its name.
GOALS = {"Signup": lambda e: e["name"] == "Signup", "Visit /thanks": lambda e: e["name"] == "pageview" and e["path"] == "/thanks",
         "Visit /blog/**": lambda e: e["name"] == "pageview" and e["path"].startswith("/blog/"),
         "Purchase": lambda e: e["name"] == "Purchase", "Upgrade": lambda e: e["name"] == "Upgrade",
         "Pro signup": lambda e: e["name"] == "Signup" and e["props"].get("plan") == "pro",
         "Scroll 55% on /blog/**": lambda e: e["name"] == "engagement" and e["path"].startswith("/blog/")
         and 55 <= e["payload"]["sd"] <= 100}

def at(day, hour, minute=0):
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc).timestamp() * 1000)


def script(d0, d1, salt):
    """Every event of the data set: dicts with visitor, time, payload and
    the visit attributes the model needs."""
    events = []
    for i in range(12):
        ip = f"198.18.{salt}.{i + 1}"
        ua = FIREFOX if i % 2 == 0 else IPHONE
        country = ["DE", "US", "FR"][i % 3]
        tagged = i % 4 == 0
        query = "?utm_source=newsletter&utm_medium=email&utm_campaign=launch&utm_content=top&utm_term=beacon" if tagged else ""
        referrer = "https://www.google.com/" if i % 4 == 1 else None
        source = "newsletter" if tagged else ("Google" if i % 4 == 1 else "Direct / None")
        firefox = i % 2 == 0
        region, city = {"DE": ("DE-BE", "Berlin"), "US": ("US-CA", "San Francisco"), "FR": ("FR-IDF", "Paris")}[country]
        # What ingest derives (its own unit tests pin these), blanks as the
        # Stats API names them.
        visit = {"ip": ip, "ua": ua, "country": country, "region": region, "city": city, "source": source,
                 "referrer": "google.com" if i % 4 == 1 else "(not set)",
                 "channel": "Email" if tagged else ("Organic Search" if i % 4 == 1 else "Direct"),
                 "utm_source": "newsletter" if tagged else "(not set)", "utm_medium": "email" if tagged else "(not set)",
                 "utm_campaign": "launch" if tagged else "(not set)", "utm_content": "top" if tagged else "(not set)",
                 "utm_term": "beacon" if tagged else "(not set)",
                 "device": "Desktop" if firefox else "Mobile", "browser": "Firefox" if firefox else "Safari",
                 "browser_version": "121.0" if firefox else "17.1", "os": "GNU/Linux" if firefox else "iOS",
                 "os_version": "(not set)" if firefox else "17.1"}

        def ev(t, name, path, extra=None, first=False):
            # Pages on three hostnames of the site, so visits cross them: the
            # blog on its own subdomain, and two visitors wholly on the shop.
            domain = ENV["DEMO_DOMAIN"]
            host = f"shop.{domain}" if i % 6 == 5 else (f"blog.{domain}" if path.startswith("/blog") else domain)
            payload = {"n": name, "u": f"https://{host}{path}{query if first else ''}"}
            if first and referrer:
                payload["r"] = referrer
            payload.update(extra or {})
            # Visitor ids are salted per UTC day, as Plausible's are: the
            # same person on another day is another visitor.
            vid = f"{ip}@{t // 86_400_000}"
            events.append(dict(visit, t=t, vid=vid, name=name, host=host, path=path, payload=payload,
                               props=(extra or {}).get("p", {}), revenue=(extra or {}).get("$")))

        t = at(d0, 10, i)
        ev(t, "pageview", "/home", first=True)
        last = "/home"
        if i % 3 != 0:
            ev(t + 2 * MIN, "pageview", f"/blog/post-{i % 2}")
            last = f"/blog/post-{i % 2}"
        if i % 4 == 2:
            # One pro plan among the free ones: the demo site's "Pro signup"
            # goal (scripts/seed.sql) requires it.
            ev(t + 3 * MIN, "Signup", last, {"p": {"plan": "pro" if i == 6 else "free"}})
        if i == 5:
            ev(t + 3 * MIN + 1000, "Purchase", last, {"$": {"amount": "20.5", "currency": "EUR"}})
        if i == 7:
            # Revenue goals (scripts/seed.sql): Purchase reports EUR, so this
            # amount (not converted) is not its revenue; Upgrade reports USD.
            ev(t + 3 * MIN + 1000, "Purchase", last, {"$": {"amount": "5", "currency": "USD"}})
        if i in (7, 8):
            ev(t + 3 * MIN + 2000, "Upgrade", last, {"$": {"amount": "9.99" if i == 7 else "1234.61", "currency": "USD"}})
        if i % 5 == 0:
            ev(t + 4 * MIN, "pageview", "/thanks")
            last = "/thanks"
        if i % 2 == 0:
            ev(t + 5 * MIN, "engagement", last, {"e": 30000, "sd": 50 + i, "i": False})
        if i == 4:
            # A second, shallower engagement on the same page: a visit's
            # scroll depth is its deepest.
            ev(t + 6 * MIN, "engagement", last, {"e": 10000, "sd": 20, "i": False})
        if i < 4:
            # A second visit the next afternoon: one page, a bounce.
            ev(at(d1, 15, i), "pageview", "/home", first=True)
    return events


def golden():
    """Sends a fresh data set on free days and waits until it has landed:
    its days, range, events and model."""
    d0, d1 = pick_days()
    events = script(d0, d1, random.randint(1, 250))
    send_all(events)
    wait_landed(d0, d1, len(events))
    return {"d0": d0, "d1": d1, "range": [d0.isoformat(), d1.isoformat()], "model": Model(events), "events": events}


def send_all(events):
    """Sends demo-site events on free days in rounds: the first event of
    every visitor, then (once those have landed) each one's second, and so
    on. Ingest hands an event to the site object after its 202, so a
    visitor's back-to-back events could reach it out of order; a browser's
    are seconds apart, the script's are not."""
    visitors = defaultdict(list)
    for e in sorted(events, key=lambda e: e["t"]):
        visitors[(e["ip"], e["ua"])].append(e)
    lo = min(e["t"] for e in events) // 86_400_000 * 86_400_000
    hi = (max(e["t"] for e in events) // 86_400_000 + 1) * 86_400_000
    sent = 0
    for k in range(max(len(evs) for evs in visitors.values())):
        for evs in visitors.values():
            if k < len(evs):
                e = evs[k]
                headers = {"x-beacon-dev-time": str(e["t"]), "x-beacon-dev-geo": f"{e['country']};{e['region']};{e['city']}"}
                r = send(e["payload"], ip=e["ip"], ua=e["ua"], headers=headers)
                assert r.status == 202, (r.status, r.body, e)
                sent += 1
        wait_rows(ENV["DEMO_SITE_ID"], lo, hi, sent, poll=0.05)


def site_rows(site, lo_ms, hi_ms, kind=None):
    """Rows of `site` in the AE stand-in written in [lo_ms, hi_ms), of one
    kind (1 events, 2 sign rows) or all."""
    where = f"index1 = '{site}' AND timestamp >= toDateTime({lo_ms // 1000}) AND timestamp < toDateTime({hi_ms // 1000})"
    if kind:
        where += f" AND double1 = {kind}"
    return int(sql(f"SELECT count() AS n FROM EVENTS WHERE {where}")[0]["n"])


def wait_rows(site, lo_ms, hi_ms, count, timeout=30.0, poll=0.3):
    """Waits until `site` has at least `count` event rows in [lo_ms, hi_ms)."""
    deadline = time.time() + timeout
    while (landed := site_rows(site, lo_ms, hi_ms, kind=1)) < count:
        assert time.time() < deadline, f"events did not land: {landed} of {count} rows\n{stack_log_tails()}"
        time.sleep(poll)


def stack_log_tails(lines=30):
    """The last lines of the stack's ingest and AE stand-in logs, for a
    failure message (a lost row leaves its trace there, if anywhere)."""
    out = []
    for name in ("ingest.log", "ae.log"):
        path = os.path.join(ENV.get("STATE_DIR", ""), name)
        try:
            with open(path, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError as e:
            tail = [f"({e})\n"]
        out.append(f"--- {name}\n" + "".join(tail))
    return "".join(out)


def wait_landed(d0, d1, count, timeout=30.0):
    wait_rows(ENV["DEMO_SITE_ID"], at(d0, 0), at(d1, 0) + 86_400_000, count, timeout)


def is_bounce(visit):
    """Plausible's bounce (its session store since v3.1): fewer than two
    pageviews and no interactive custom event (not engagement, not sent
    with `i: false`)."""
    pageviews = sum(e["name"] == "pageview" for e in visit)
    custom = [e for e in visit if e["name"] not in ("pageview", "engagement")]
    return pageviews < 2 and not any(e.get("payload", {}).get("i", True) for e in custom)


def ended(visit):
    """When a visit's last event other than engagement was: Plausible's
    engagement keeps a visit open but neither lengthens nor moves it."""
    return max(e["t"] for e in visit if e["name"] != "engagement")


class Model:
    """Plausible's definitions over the scripted events."""

    def __init__(self, events):
        self.events = sorted(events, key=lambda e: e["t"])
        self.sessions = []
        by_visitor = defaultdict(list)
        for e in self.events:
            by_visitor[e["ip"]].append(e)
        for evs in by_visitor.values():
            current = None
            for e in evs:
                if current is None or e["t"] - current[-1]["t"] > 30 * MIN:
                    current = []
                    self.sessions.append(current)
                current.append(e)

    def session_stats(self, s):
        return {
            "start": s[0]["t"],
            "bounce": is_bounce(s),
            "duration": (ended(s) - s[0]["t"]) // 1000,
            "pageviews": sum(e["name"] == "pageview" for e in s),
            "entry": next(e["path"] for e in s if e["name"] == "pageview"),
            "entry_host": next(e["host"] for e in s if e["name"] == "pageview"),
            "exit_host": [e["host"] for e in s if e["name"] == "pageview"][-1],
            "visit": s[0],
        }

    def aggregate(self, keep_event=lambda e: True, keep_session=lambda s: True):
        evs = [e for e in self.events if keep_event(e)]
        ss = [self.session_stats(s) for s in self.sessions if keep_session(s)]
        visits = len(ss)
        return {
            "visitors": len({e["vid"] for e in evs}),
            "pageviews": sum(e["name"] == "pageview" for e in evs),
            "events": sum(e["name"] != "engagement" for e in evs),
            "visits": visits,
            "bounce_rate": sql_round(sum(s["bounce"] for s in ss) / visits * 100) if visits else 0,
            "visit_duration": sql_round(sum(s["duration"] for s in ss) / visits) if visits else 0,
            "views_per_visit": sql_round(sum(s["pageviews"] for s in ss) / visits, 2) if visits else 0,
        }

    def breakdown(self, key, metrics, keep_event=lambda e: True):
        groups = defaultdict(list)
        for e in self.events:
            if keep_event(e):
                groups[key(e)].append(e)
        out = {}
        for k, evs in groups.items():
            a = {"visitors": len({e["vid"] for e in evs}), "pageviews": sum(e["name"] == "pageview" for e in evs),
                 "events": sum(e["name"] != "engagement" for e in evs)}
            out[k] = [a[m] for m in metrics]
        return out


def as_table(reply, metrics_len=None):
    """v2 results as {tuple(dimensions) or single value: metrics}."""
    out = {}
    for r in reply["results"]:
        dims = r["dimensions"]
        out[dims[0] if len(dims) == 1 else tuple(dims)] = r["metrics"]
    return out


def dumps(x):
    return json.dumps(x, sort_keys=True)
