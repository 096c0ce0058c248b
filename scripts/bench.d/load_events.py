#!/usr/bin/env python3
"""Fills an AE stand-in data directory with N generated event rows (and one
session sign row per four events) for one site, spread over the last 30
days, generated inside chDB so 10 million rows take seconds, not hours.
Run before the stand-in starts on that directory (one process per path)."""

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--site", default="demo")
    ap.add_argument("--events", type=int, default=10_000_000)
    args = ap.parse_args()
    store = Store(args.data)
    now = int(time.time())
    span = 30 * 86400
    started = time.time()
    # n spreads over time by a multiplicative hash; a visitor makes ~50
    # events, a session 4.
    ts = f"toDateTime({now} - ((number * 7919) % {span}))"
    # Entry page and visit attributes, alike on event and session rows.
    visit = f"""concat('/page-', toString(intDiv(number, 4) % 500)),
               arrayElement({SOURCES}, number % 7 + 1), arrayElement({CHANNELS}, number % 7 + 1),
               arrayElement({COUNTRIES}, number % 8 + 1), arrayElement({BROWSERS}, number % 4 + 1),
               arrayElement({OSES}, number % 5 + 1)"""
    store.session.query(f"""
        INSERT INTO ae.EVENTS (timestamp, index1, blob1, blob2, blob3, blob4, blob6, blob7, blob13, blob16, blob18,
                               double1, double2, double3, double4, double5, double11)
        SELECT {ts}, '{args.site}',
               if(number % 10 = 9, 'Signup', 'pageview'),
               concat('/page-', toString(number % 500)),
               'demo.example',
               {visit},
               1, 1, number % 3 + 1, intDiv(number, 50) + 1, intDiv(number, 4) + 1, toUnixTimestamp({ts}) * 1000
        FROM numbers({args.events})
    """)
    store.session.query(f"""
        INSERT INTO ae.EVENTS (timestamp, index1, blob2, blob3, blob4, blob6, blob7, blob13, blob16, blob18,
                               double1, double2, double3, double4, double5, double11, double12, double13, double14, double15)
        SELECT {ts}, '{args.site}',
               concat('/page-', toString((number + 3) % 500)),
               'demo.example',
               {visit},
               2, 1, number % 3 + 1, intDiv(number, 50) + 1, intDiv(number, 4) + 1, toUnixTimestamp({ts}) * 1000,
               intDiv(number, 4) % 3 = 0, intDiv(number, 4) % 300, 4, 4
        FROM numbers({args.events}) WHERE number % 4 = 0
    """)
    rows = store.session.query("SELECT count() FROM ae.EVENTS", "CSV").bytes().decode().strip()
    print(f"loaded {rows} rows ({args.events} events) for site {args.site} in {time.time() - started:.1f}s", flush=True)


if __name__ == "__main__":
    main()
