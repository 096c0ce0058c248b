#!/usr/bin/env python3
"""Fills an AE stand-in data directory with N generated events for one site,
over the last 30 days (or --days), shaped as ingest and the site object write them:
event rows plus the session sign rows (a `+1` state per event other than
engagement, and a `-1` cancelling each state the next such event replaces;
engagement changes no session, as in Plausible). Generated inside chDB, so
10 million events take seconds, not hours. Run before the stand-in starts on
that directory (one process per path).

The shape follows what the product does, not what is cheapest to query:
- a visitor id lives one UTC day (daily salt) and its country, browser, OS
  and device are fixed (they come from its IP and user agent);
- about 1.5 visits per visitor-day, 1-4 pageviews per visit, each followed
  by the tracker's engagement event, a Signup in one visit in ten;
- pages follow a skewed popularity over 500 paths; the source is per visit.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "standins"))

from ae import Store  # noqa: E402  (creates the table exactly as the stand-in does)

SOURCES = "['', 'Google', 'Bing', 'Twitter', 'newsletter', 'Facebook', 'DuckDuckGo']"
CHANNELS = "['Direct', 'Organic Search', 'Organic Search', 'Organic Social', 'Email', 'Organic Social', 'Organic Search']"
COUNTRIES = "['US', 'DE', 'FR', 'GB', 'IN', 'BR', 'JP', 'CA']"
BROWSERS = "['Chrome', 'Firefox', 'Safari', 'Edge']"
OSES = "['Windows', 'Mac', 'Linux', 'iOS', 'Android']"
# Events a visit makes on average: 2.5 pageviews, as many engagements, 0.1 Signup.
EVENTS_PER_VISIT = 5.1
STEP_S = 30  # seconds between a visit's events
# The stored visitor id (double4): a 52-bit hash of the generator's
# sequential visitor number, as ingest's ids are hashes. Sequential ids
# would line up with the days visitors are spread over (`visitor * 7919 %
# days`), so a slice `double4 % k = 0` would not be an even sample.
VISITOR_ID = "toFloat64(bitAnd(cityHash64(visitor, 'id'), 4503599627370495))"


def visits_sql(n_visits, now, days):
    """One row per visit: its id, visitor, start, pageviews and whether it signs up."""
    # Visitor-days are whole UTC days (the salt's), the last `days` before today.
    first_day = now // 86400 * 86400 - days * 86400
    return f"""
        SELECT number AS v, intDiv(number * 2, 3) + 1 AS visitor,
               1 + cityHash64(number, 'pv') % 4 AS n_pv, number % 10 = 9 AS signup, 2 * n_pv + signup AS n,
               toUInt32({first_day} + (visitor * 7919) % {days} * 86400 + cityHash64(number, 't') % 82800) AS start
        FROM numbers({n_visits})"""


def page(j):
    """The path of a visit's pageview `j`: skewed towards low page numbers."""
    return f"concat('/page-', toString(toUInt32(500 * pow(cityHash64(v, {j}) % 1000000 / 1000000, 2))))"


# Visit attributes on every row (entry page, source, channel, geo, software).
VISIT = f"""{page(0)}, arrayElement({SOURCES}, v % 7 + 1), arrayElement({CHANNELS}, v % 7 + 1),
            arrayElement({COUNTRIES}, cityHash64(visitor, 'c') % 8 + 1), arrayElement({BROWSERS}, cityHash64(visitor, 'b') % 4 + 1),
            arrayElement({OSES}, cityHash64(visitor, 'o') % 5 + 1)"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--site", default="demo")
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30, help="days before today the events spread over")
    args = ap.parse_args()
    store = Store(args.data)
    now = int(time.time())
    started = time.time()
    n_visits = max(1, int(args.events / EVENTS_PER_VISIT))
    # Event i of a visit: pageviews at even i, engagements at odd i, the
    # Signup last. All but engagements are interactive and counted as
    # events (`counted`).
    store.session.query(f"""
        INSERT INTO ae.EVENTS (timestamp, index1, blob1, blob2, blob3, blob4, blob6, blob7, blob13, blob16, blob18,
                               double1, double2, double3, double4, double5, double8, double9, double10, double11,
                               double14, double15)
        SELECT toDateTime(start + i * {STEP_S}) AS ts, '{args.site}',
               multiIf(i >= 2 * n_pv, 'Signup', i % 2 = 0, 'pageview', 'engagement'),
               {page('intDiv(least(i, 2 * n_pv - 1), 2)')}, 'demo.example', {VISIT},
               1, 1, cityHash64(visitor, 'd') % 3 + 1, {VISITOR_ID}, v + 1, (i % 2 = 0 OR i >= 2 * n_pv) AS counted,
               if(i % 2 = 1 AND i < 2 * n_pv, 5000 + cityHash64(v, i) % 60000, 0),
               if(i % 2 = 1 AND i < 2 * n_pv, cityHash64(v, i, 's') % 101, 0), toUnixTimestamp(ts) * 1000,
               i % 2 = 0 AND i < 2 * n_pv, counted
        FROM ({visits_sql(n_visits, now, args.days)}) ARRAY JOIN range(n) AS i
    """)
    # The session after its counted event c (pageview c, then the Signup):
    # its +1 row written at that event, and the -1 row cancelling it at the
    # next counted one (k >= m), as the site object writes them. `at(c)` is
    # the index of counted event c among all the visit's events.
    at = lambda c: f"if({c} < n_pv, 2 * ({c}), 2 * n_pv)"  # noqa: E731
    store.session.query(f"""
        INSERT INTO ae.EVENTS (timestamp, index1, blob2, blob3, blob4, blob6, blob7, blob13, blob16, blob18,
                               double1, double2, double3, double4, double5, double11, double12, double13, double14, double15)
        SELECT toDateTime(start + if(k < m, {at('c')}, {at('c + 1')}) * {STEP_S}), '{args.site}',
               {page('least(c, n_pv - 1)')}, 'demo.example', {VISIT},
               2, if(k < m, 1, -1), cityHash64(visitor, 'd') % 3 + 1, {VISITOR_ID}, v + 1, start * 1000,
               c = 0, {at('c')} * {STEP_S}, least(c + 1, n_pv), c + 1
        FROM (SELECT *, k, n_pv + signup AS m, if(k < m, k, k - m) AS c
              FROM ({visits_sql(n_visits, now, args.days)}) ARRAY JOIN range(2 * (n_pv + signup) - 1) AS k)
    """)
    count = "SELECT countIf(double1 = 1), countIf(double1 = 2), count() FROM ae.EVENTS"
    events, signs, rows = store.session.query(count, "CSV").bytes().decode().strip().split(",")
    print(f"loaded {events} events in {n_visits} visits ({signs} session sign rows, {rows} rows) "
          f"for site {args.site} in {time.time() - started:.1f}s", flush=True)


if __name__ == "__main__":
    main()
