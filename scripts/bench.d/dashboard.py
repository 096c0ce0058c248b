#!/usr/bin/env python3
"""Times the Stats API queries one dashboard page view makes, against a
running stack: each query alone (p50/p95), and the whole set fired at once
as the dashboard fires it (p50/p95), the top stats' comparison shared
against each period asked apart, and the engine's floor and the set's
statements, exact and over a tenth and a twentieth of the visitors. Prints figures; asserts nothing but that every
answer is a 200 and that both ways answer alike."""

import datetime as dt
import json
import os
import re
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

url, key, site, rounds, ae = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
# The stand-in's SQL endpoint and the site's index, for the engine's floor.
ae_sql, ae_token, index = sys.argv[6], sys.argv[7], sys.argv[8]

SET = {
    "aggregate + comparison": {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"],
                               "date_range": "30d", "include": {"comparisons": {"mode": "previous_period"}}},
    "timeseries (day)": {"metrics": ["visitors"], "date_range": "30d", "dimensions": ["time:day"]},
    "top pages": {"metrics": ["visitors", "pageviews"], "date_range": "30d", "dimensions": ["event:page"], "pagination": {"limit": 9}},
    "sources": {"metrics": ["visitors", "bounce_rate"], "date_range": "30d", "dimensions": ["visit:source"], "pagination": {"limit": 9}},
    "countries": {"metrics": ["visitors"], "date_range": "30d", "dimensions": ["visit:country"], "pagination": {"limit": 9}},
    "devices": {"metrics": ["visitors"], "date_range": "30d", "dimensions": ["visit:device"]},
}


# wrangler's local proxy answers any lost connection to the worker on a
# POST with this 503 (its check for a restarted worker compares the
# request's URL, path and all, with the worker's bare origin, so it never
# matches): a local artifact, not the worker's answer. Seen at 10M events,
# once in a few hundred queries fired six at once. Retried once, counted.
PROXY_LOST = "Your worker restarted mid-request."
retried = []


def ask(body):
    """One Stats API query: its answer and its time in ms (a retry's included)."""
    data = json.dumps(dict(body, site_id=site)).encode()
    t = time.perf_counter()
    for attempt in (1, 2):
        req = urllib.request.Request(url + "/api/v2/query", data=data, method="POST",
                                     headers={"authorization": "Bearer " + key, "content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                assert resp.status == 200, resp.status
                answer = json.loads(resp.read())
            break
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            if e.code == 503 and text.startswith(PROXY_LOST) and attempt == 1:
                retried.append(body)
                continue
            # Say what the worker said: a bare status hides the cause.
            sys.exit(f"{e.code} from {json.dumps(body)}: {text[:500]}")
    return answer, (time.perf_counter() - t) * 1000


def run(body):
    return ask(body)[1]


def engine():
    """The AE stand-in's own SQL count and time since the last call."""
    with urllib.request.urlopen(ae + "/timings", timeout=30) as resp:
        return json.loads(resp.read())


def ae_sql_answer(statement):
    """One statement sent straight to the stand-in: its rows, and chDB's time on it."""
    req = urllib.request.Request(ae_sql, data=statement.encode(), method="POST", headers={"authorization": "Bearer " + ae_token})
    engine()
    with urllib.request.urlopen(req, timeout=120) as resp:
        assert resp.status == 200
        rows = json.loads(resp.read())["data"]
    return rows, engine()["ms"]


def sql_ms(statement):
    """chDB's time on one statement sent straight to the stand-in."""
    return ae_sql_answer(statement)[1]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


for body in SET.values():  # warm-up
    run(body)
alone = {}
spent = {}  # query name -> SQL text -> chDB ms of each round
for name, body in SET.items():
    alone[name] = []
    for _ in range(rounds):
        engine()
        alone[name].append(run(body))
        for s in engine()["statements"]:
            spent.setdefault(name, {}).setdefault(s["sql"], []).append(s["ms"])
whole = []
engine_ms = []
statements = []
with ThreadPoolExecutor(max_workers=len(SET)) as pool:
    for _ in range(rounds):
        engine()
        t = time.perf_counter()
        list(pool.map(run, SET.values()))
        whole.append((time.perf_counter() - t) * 1000)
        e = engine()
        engine_ms.append(e["ms"])
        statements.append(e["queries"])

# The engine's share scales with rows and cores: say how many this run had.
print(f"\n{os.cpu_count()} cores here; the stand-in runs one statement at a time")
print(f"{'query (' + str(rounds) + ' rounds)':28}{'p50 ms':>10}{'p95 ms':>10}")
for name, xs in alone.items():
    print(f"{name:28}{statistics.median(xs):10.1f}{pct(xs, 95):10.1f}")
print(f"{'sum of the six, one by one':28}{sum(statistics.median(x) for x in alone.values()):10.1f}")
print(f"{'whole set, fired at once':28}{statistics.median(whole):10.1f}{pct(whole, 95):10.1f}   (target: p50 < 500 ms)")
print(f"{'  of which chDB ran SQL':28}{statistics.median(engine_ms):10.1f}{pct(engine_ms, 95):10.1f}"
      f"   ({statistics.median(statements):.0f} statements a set; the rest is the workers, HTTP and the stand-in)")

# Where the engine's time goes: each statement a query sends, alone.
print("\nchDB per statement, each query alone (p50 ms)")
for name, stmts in spent.items():
    for sql, ms in stmts.items():
        print(f"{statistics.median(ms):8.1f}  {name}: {' '.join(sql.split())}")

# The top stats' comparison reads both periods in two shared statements;
# before stop 26 each period was asked apart (two statements each, sent at
# once). Both ways, alternating, on this store: the same answers, checked.
top = SET["aggregate + comparison"]
today = dt.datetime.now(dt.timezone.utc).date()  # the bench site is UTC
span = lambda a, b: [(today - dt.timedelta(days=a)).isoformat(), (today - dt.timedelta(days=b)).isoformat()]
alone_top = {k: v for k, v in top.items() if k != "include"}
# 30d is the 30 days before today; its previous period the 30 before those.
apart = [dict(alone_top, date_range=span(30, 1)), dict(alone_top, date_range=span(60, 31))]
shared_ms, apart_ms, shared_sql, apart_sql = [], [], [], []
with ThreadPoolExecutor(max_workers=2) as pool:
    for _ in range(rounds):
        engine()
        answer, _ = ask(top)
        e = engine()
        shared_ms.append(e["ms"])
        shared_sql.append(e["queries"])
        (mine, _), (theirs, _) = pool.map(ask, apart)
        e = engine()
        apart_ms.append(e["ms"])
        apart_sql.append(e["queries"])
        row = answer["results"][0]
        assert row["metrics"] == mine["results"][0]["metrics"], (row, mine)
        assert row["comparison"]["metrics"] == theirs["results"][0]["metrics"], (row, theirs)
previous = answer["results"][0]["comparison"]["metrics"][0]
print(f"\nThe top stats' comparison, chDB's time on one view (p50 ms), same answers; "
      f"{previous:,} visitors in the previous period (BENCH_DAYS)")
print(f"{statistics.median(shared_ms):8.1f}  shared: one request, {statistics.median(shared_sql):.0f} statements")
print(f"{statistics.median(apart_ms):8.1f}  each period apart: two requests, {statistics.median(apart_sql):.0f} statements (before stop 26)")

# The floor under any rewrite of these statements over raw rows: five of
# the six queries (all but sources) each count distinct visitors over
# every event row of the period, grouped or not; grouping only adds. The
# set's period (30d) starts 30 days before today; with BENCH_DAYS over 30
# the store also holds older events, which the floor leaves out.
first_s = int(dt.datetime.combine(today - dt.timedelta(days=30), dt.time(), dt.timezone.utc).timestamp())
events = f"FROM EVENTS WHERE index1 = '{index}' AND double1 = 1 AND timestamp >= toDateTime({first_s})"
visitors = f"SELECT count(DISTINCT double4) AS n {events}"
scan = [sql_ms(f"SELECT count() {events}") for _ in range(rounds)]
distinct = [ae_sql_answer(visitors) for _ in range(rounds)]
floor = statistics.median(ms for _, ms in distinct)
print("\nchDB's floor here, on the site's event rows in the set's period (p50 ms)")
print(f"{statistics.median(scan):8.1f}  read them: count()")
print(f"{floor:8.1f}  one distinct count of their visitors: count(DISTINCT double4)")
print(f"{5 * floor:8.1f}  five of those, as five of the six queries make (one statement at a time)")

# What sampling would save: the same statements over a fixed slice of the
# visitors (id % k = 0 over hashed ids, as ingest's and the generator's
# are: an even slice), as ClickHouse's SAMPLE BY user_id keeps whole
# visitors; a sampled engine would scale sums and counts by k. A tenth and
# a twentieth: the second also makes small groups twice as coarse.
# Beacon does not sample; Plausible starts at about 25M events in the range.
SLICES = (10, 20)


def slice_of(sql, k):
    """`sql` with its (first) WHERE narrowed to a 1/k slice of visitors."""
    cut, n = re.subn(r"\sWHERE\s", f" WHERE double4 % {k} = 0 AND ", sql, count=1)
    assert n == 1, sql
    return cut


exact = int(distinct[0][0][0]["n"])
for k in SLICES:
    sliced = [ae_sql_answer(slice_of(visitors, k)) for _ in range(rounds)]
    estimate = k * int(sliced[0][0][0]["n"])
    print(f"{statistics.median(ms for _, ms in sliced):8.1f}  the same over a 1/{k} slice of visitors, scaled: "
          f"{estimate:,} against {exact:,} ({100 * (estimate - exact) / max(exact, 1):+.2f}%)")

each = {sql: statistics.median(ms) for stmts in spent.values() for sql, ms in stmts.items()}
print(f"\nchDB on the set's {len(each)} statements, one at a time (sum of p50 ms)")
print(f"{sum(each.values()):8.1f}  as sent")
for k in SLICES:
    cut = [statistics.median(sql_ms(slice_of(sql, k)) for _ in range(rounds)) for sql in each]
    print(f"{sum(cut):8.1f}  each over the same 1/{k} slice of visitors")
if retried:
    print(f"\n{len(retried)} queries retried once after wrangler's proxy lost its connection to the worker (timed with the retry)")
