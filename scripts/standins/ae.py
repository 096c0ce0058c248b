#!/usr/bin/env python3
"""Local stand-in for Workers Analytics Engine (dev and tests only).

wrangler's local Analytics Engine binding silently drops writes, so the
ingest worker mirrors each data point here when AE_LOCAL_URL is set.

  POST /write   JSON list of data points {index, blobs[20], doubles[20], timestamp_ms}
  POST /sql     the AE SQL API contract: SQL text in, Bearer token, JSON
                {meta, data, rows, rows_before_limit_at_least} out.
  GET  /health  200 when ready.
  GET  /timings {queries, ms, statements}: SQL statements run and chDB's
                time on them since the last call, in total and each (the
                last 100, as {ms, sql}); benchmarks separate the engine's
                share and show which statements cost it.
  POST /sample  {index, from_s, to_s, interval}: sets `_sample_interval` on
                that site's rows in [from_s, to_s), as if AE had kept one
                data point for every `interval` written. Ingest cannot make
                AE sample locally, so tests use this to check that every
                weighted metric honours the column.
  POST /throttle {count, retry_after, status?}: the next `count` SQL
                requests get the 429 and `Retry-After` the Cloudflare API
                answers a token over its rate limit with (or `status` 503,
                or 507 for a statement over a resource limit, with
                `Retry-After` only when retry_after > 0), so tests can check
                what callers are told then.

Rows live in chDB (the ClickHouse engine) with AE's columns: timestamp,
index1, blob1..blob20, double1..double20, _sample_interval, dataset. The SQL
endpoint refuses what AE SQL refuses (joins, unions, CTEs, subqueries
other than one `FROM (SELECT ...)`, window functions, CASE, anything but
SELECT) with an AE-like 422 error, so nothing passes locally that would
fail in production.
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chdb.session

BLOBS = 20
DOUBLES = 20
MAX_BODY = 32 * 1024 * 1024

COLUMNS = (
    ["timestamp DateTime('UTC')", "index1 String"]
    + [f"blob{i} String" for i in range(1, BLOBS + 1)]
    + [f"double{i} Float64" for i in range(1, DOUBLES + 1)]
    + ["_sample_interval UInt32 DEFAULT 1", "dataset String DEFAULT 'EVENTS'"]
)

FORBIDDEN = [
    (re.compile(r"\bJOIN\b"), "JOIN is not supported"),
    (re.compile(r"\bUNION\b"), "UNION is not supported"),
    (re.compile(r"\bINTERSECT\b|\bEXCEPT\b"), "set operations are not supported"),
    (re.compile(r"^\s*WITH\b"), "WITH (common table expressions) is not supported"),
    (re.compile(r"\bOVER\s*\("), "window functions are not supported"),
    (re.compile(r"\bARRAY\s+JOIN\b"), "ARRAY JOIN is not supported"),
    (re.compile(r"\bSETTINGS\b"), "SETTINGS is not supported"),
    (re.compile(r"\bINTO\s+OUTFILE\b"), "INTO OUTFILE is not supported"),
    # AE's engine answers CASE with a 422 ("unsupported expression type:
    # CASE WHEN", cloudflare/skills#87); its documented conditional is if().
    (re.compile(r"\bCASE\b"), "unsupported expression type: CASE WHEN (use if())"),
    # ClickHouse syntax outside AE's documented SELECT grammar (SELECT, FROM,
    # WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, OFFSET, FORMAT) and operators
    # (arithmetic, comparison, IN, BETWEEN, LIKE/ILIKE, AND/OR/NOT), refused
    # as undocumented functions are: AE may refuse them.
    (re.compile(r"\b(PREWHERE|SAMPLE|FINAL|QUALIFY)\b"), "this clause is not in AE's SELECT grammar"),
    (re.compile(r"\bLIMIT\s+\d+(\s*,\s*\d+)?\s+BY\b"), "LIMIT BY is not in AE's SELECT grammar"),
    (re.compile(r"\bWITH\s+(TOTALS|ROLLUP|CUBE|FILL|TIES)\b"), "WITH modifiers are not in AE's SELECT grammar"),
    (re.compile(r"::|->|\|\||\?"), "casts (::), lambdas (->), || and ?: are not AE operators"),
]
# Every function Cloudflare documents for AE SQL (sql-reference pages:
# aggregate, string, date-time, conditional, mathematical, type conversion,
# bit, encoding). Anything else is refused as AE refuses it.
FUNCTIONS = {
    name.lower()
    for name in """
    count sum avg min max quantileExactWeighted quantileWeighted argMin argMax first_value last_value topK
    topKWeighted countIf sumIf avgIf
    length empty lower lowerUTF8 upper upperUTF8 toLower toUpper startsWith endsWith position substring format extract
    formatDateTime now today toDateTime toYear toMonth toDayOfMonth toDayOfWeek toHour toMinute toSecond
    toUnixTimestamp toStartOfInterval toStartOfYear toStartOfMonth toStartOfWeek toStartOfDay toStartOfHour
    toStartOfFifteenMinutes toStartOfTenMinutes toStartOfFiveMinutes toStartOfMinute toYYYYMM
    if intDiv log ln pow round floor ceil toUInt8 toUInt32
    bitAnd bitCount bitHammingDistance bitNot bitOr bitRotateLeft bitRotateRight bitShiftLeft bitShiftRight bitTest bitXor
    bin hex unbin unhex
    """.split()
}
# Functions whose every documented form takes at most this many arguments
# (AE's date-time reference shows `toStartOfDay(<datetime>)`: no time zone,
# unlike `toStartOfInterval` and `formatDateTime`). More is refused, as AE
# may refuse it, so nothing undocumented passes locally.
MAX_ARGS = {
    **{
        name.lower(): 1
        for name in """
        toYear toMonth toDayOfMonth toDayOfWeek toHour toMinute toSecond toUnixTimestamp toStartOfYear
        toStartOfMonth toStartOfWeek toStartOfDay toStartOfHour toStartOfFifteenMinutes toStartOfTenMinutes
        toStartOfFiveMinutes toStartOfMinute toYYYYMM
        """.split()
    },
    "todatetime": 2,
    "tostartofinterval": 3,
    "formatdatetime": 3,
}
# Words that look like calls but are SQL syntax.
SYNTAX = {"in", "and", "or", "not", "as", "from", "where", "interval", "select", "distinct", "by", "over", "like", "ilike", "between"}
CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
STATEMENT = re.compile(r"^\s*(SELECT|SHOW\s+TABLES)\b")
DISTINCT_ARG = re.compile(r"\bcount\s*\(\s*DISTINCT\s+([^)]*)\)?", re.I)
COLUMN_ONLY = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")
FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*$")
NESTED_FROM = re.compile(r"\bFROM\s*\(\s*SELECT\b")
FROM_TARGET = re.compile(r"\bFROM\s+([^\s,()]+|\()")
SITE = re.compile(r"^[A-Za-z0-9_-]{1,96}$")
TABLE_FUNCTION = re.compile(r"\b(file|url|remote|remoteSecure|s3|hdfs|mysql|postgresql|executable|input|numbers|cluster)\s*\(", re.I)


def strip_literals(sql):
    """SQL with string literals and comments blanked, so checks see only code."""
    out, i, n = [], 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(c + " " * max(0, min(j, n - 1) - i - 1) + c)
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def arguments(code, open_at):
    """How many top-level arguments the call whose `(` is at `open_at` has
    (`code` with literals blanked, so no comma or bracket hides in one)."""
    depth, commas, seen = 0, 0, False
    for ch in code[open_at:]:
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                break
        elif ch == "," and depth == 1:
            commas += 1
        if not ch.isspace():
            seen = True
    return commas + 1 if seen else 0


def check_sql(sql):
    """Returns an error message for SQL that AE would refuse, else None."""
    code = strip_literals(sql).strip()
    upper = code.upper()
    if not code:
        return "empty query"
    if ";" in code.rstrip(";"):
        return "only one statement is allowed"
    for pattern, message in FORBIDDEN:
        if pattern.search(upper):
            return message
    if not STATEMENT.match(upper):
        return "only SELECT statements are supported"
    # AE documents `FROM (subquery)`; nothing else may hold a SELECT, and
    # the subquery itself reads the table.
    selects = len(re.findall(r"\bSELECT\b", upper))
    nested = len(NESTED_FROM.findall(upper))
    if selects > 2 or max(selects - 1, 0) != nested:
        return "subqueries are only supported as FROM (SELECT ...)"
    for m in FROM_TARGET.finditer(code):
        if m.group(1) == "(" and not NESTED_FROM.match(upper, m.start()):
            return "subqueries are only supported as FROM (SELECT ...)"
    if TABLE_FUNCTION.search(code):
        return "table functions are not supported"
    for m in CALL.finditer(code):
        name = m.group(1).lower()
        if name not in FUNCTIONS and name not in SYNTAX:
            return f"unknown function {m.group(1)}"
        most = MAX_ARGS.get(name)
        if most is not None and arguments(code, m.end() - 1) > most:
            return f"{m.group(1)} takes at most {most} argument{'s' if most > 1 else ''}"
    # AE documents `count(DISTINCT column_name)`: a bare column, no expression.
    for m in DISTINCT_ARG.finditer(code):
        if not COLUMN_ONLY.match(m.group(1)):
            return "count(DISTINCT ...) takes a column name"
    fmt = FORMAT.search(upper)
    if fmt and fmt.group(1) not in ("JSON", "JSONEACHROW", "TABSEPARATED"):
        return f"unsupported format {fmt.group(1)}"
    return None


class Store:
    """One chDB session per process; every query goes through it, one at a time."""

    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.lock = threading.Lock()
        self.queries = 0
        self.sql_ms = 0.0
        self.statements = []
        self.session = chdb.session.Session(path)
        self.session.query("CREATE DATABASE IF NOT EXISTS ae")
        self.session.query(
            f"CREATE TABLE IF NOT EXISTS ae.EVENTS ({', '.join(COLUMNS)}) "
            "ENGINE = MergeTree ORDER BY (index1, timestamp)"
        )

    def timings(self):
        """SQL statements and engine milliseconds since the last call."""
        with self.lock:
            out = {"queries": self.queries, "ms": round(self.sql_ms, 1), "statements": self.statements}
            self.queries, self.sql_ms, self.statements = 0, 0.0, []
        return out

    def write(self, points):
        rows = []
        for p in points:
            blobs = list(p.get("blobs", []))[:BLOBS]
            doubles = list(p.get("doubles", []))[:DOUBLES]
            if not isinstance(p.get("index"), str) or not all(isinstance(b, str) for b in blobs):
                raise ValueError("index and blobs must be strings")
            if not all(isinstance(d, (int, float)) for d in doubles):
                raise ValueError("doubles must be numbers")
            row = {"timestamp": int(p.get("timestamp_ms", 0)) // 1000, "index1": p["index"]}
            for i in range(BLOBS):
                row[f"blob{i + 1}"] = blobs[i] if i < len(blobs) else ""
            for i in range(DOUBLES):
                row[f"double{i + 1}"] = float(doubles[i]) if i < len(doubles) else 0.0
            rows.append(json.dumps(row))
        if rows:
            with self.lock:
                self.session.query("INSERT INTO ae.EVENTS FORMAT JSONEachRow\n" + "\n".join(rows))
        return len(rows)

    def resample(self, spec):
        """Sets `_sample_interval` on one site's rows in a time range."""
        index, lo, hi, k = spec.get("index"), spec.get("from_s"), spec.get("to_s"), spec.get("interval")
        if not isinstance(index, str) or not SITE.match(index):
            raise ValueError("index must be a site id")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi, k)):
            raise ValueError("from_s, to_s and interval must be integers")
        if not (0 <= lo <= 2**32 and 0 <= hi <= 2**32 and 1 <= k <= 1_000_000):
            raise ValueError("from_s and to_s must be Unix seconds, interval 1 to 1,000,000")
        with self.lock:
            self.session.query(
                f"ALTER TABLE ae.EVENTS UPDATE _sample_interval = {k} WHERE index1 = '{index}' "
                f"AND timestamp >= toDateTime({lo}) AND timestamp < toDateTime({hi}) SETTINGS mutations_sync = 2"
            )

    def sql(self, sql):
        text = sql.strip().rstrip(";")
        fmt = FORMAT.search(text.upper())
        out_format = "JSON"
        if fmt:
            out_format = {"JSON": "JSON", "JSONEACHROW": "JSONEachRow", "TABSEPARATED": "TabSeparated"}[fmt.group(1)]
            text = text[: fmt.start()].rstrip()
        with self.lock:
            started = time.perf_counter()
            self.session.query("USE ae")
            result = self.session.query(text, out_format)
            ms = (time.perf_counter() - started) * 1000
            self.queries += 1
            self.sql_ms += ms
            self.statements = self.statements[-99:] + [{"ms": round(ms, 1), "sql": text}]
        return result.bytes() if hasattr(result, "bytes") else bytes(result), out_format


def make_handler(store, token):
    throttle = {"count": 0, "retry_after": 0, "status": 429}
    throttle_lock = threading.Lock()

    def throttled():
        """(status, Retry-After seconds) if this SQL request is to be turned away."""
        with throttle_lock:
            if throttle["count"] <= 0:
                return None
            throttle["count"] -= 1
            return throttle["status"], throttle["retry_after"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body, content_type="application/json", headers=()):
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                raise ValueError("body too large")
            return self.rfile.read(length)

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, "ok", "text/plain")
            elif self.path == "/timings":
                self.reply(200, json.dumps(store.timings()))
            else:
                self.reply(404, '{"error":"not found"}')

        def do_POST(self):
            try:
                raw = self.body()
            except ValueError as e:
                return self.reply(413, json.dumps({"error": str(e)}))
            if self.path == "/write":
                try:
                    n = store.write(json.loads(raw))
                except (ValueError, TypeError, AttributeError) as e:
                    return self.reply(400, json.dumps({"error": f"bad data point: {e}"}))
                except Exception as e:  # chDB's own failures: say so, and leave a trace
                    print(f"ae stand-in: write of {len(raw)} bytes failed: {e!r}", file=sys.stderr, flush=True)
                    return self.reply(503, json.dumps({"error": f"write failed: {e}"}))
                return self.reply(200, json.dumps({"written": n}))
            if self.path == "/sample":
                try:
                    store.resample(json.loads(raw))
                except (ValueError, TypeError, AttributeError) as e:
                    return self.reply(400, json.dumps({"error": f"bad sample request: {e}"}))
                return self.reply(200, '{"ok":true}')
            if self.path == "/throttle":
                try:
                    ask = json.loads(raw)
                    count, wait, status = ask["count"], ask["retry_after"], ask.get("status", 429)
                    if not (isinstance(count, int) and isinstance(wait, int) and 0 <= count <= 1000 and 0 <= wait <= 3600):
                        raise ValueError("count and retry_after must be small non-negative integers")
                    if status not in (429, 503, 507):
                        raise ValueError("status must be 429, 503 or 507")
                except (ValueError, TypeError, KeyError) as e:
                    return self.reply(400, json.dumps({"error": f"bad throttle request: {e!r}"}))
                with throttle_lock:
                    throttle.update(count=count, retry_after=wait, status=status)
                return self.reply(200, '{"ok":true}')
            if self.path == "/sql" or self.path.endswith("/analytics_engine/sql"):
                if self.headers.get("authorization") != f"Bearer {token}":
                    return self.reply(401, "Authentication error", "text/plain")
                turned = throttled()
                if turned is not None:
                    status, wait = turned
                    error = ({"message": "resource limit exceeded; reduce the time range or rows"} if status == 507
                             else {"code": 971, "message": "Please wait and consider throttling your request speed"})
                    body = {"success": False, "errors": [error]}
                    headers = [("retry-after", str(wait))] if status != 507 or wait > 0 else []
                    return self.reply(status, json.dumps(body), headers=headers)
                sql = raw.decode("utf-8", "replace")
                problem = check_sql(sql)
                if problem:
                    return self.reply(422, f"Query error: {problem}", "text/plain")
                try:
                    data, fmt = store.sql(sql)
                except Exception as e:  # chDB raises plain exceptions for bad SQL
                    return self.reply(422, f"Query error: {e}", "text/plain")
                ctype = "application/json" if fmt.startswith("JSON") else "text/plain"
                return self.reply(200, data, ctype)
            self.reply(404, '{"error":"not found"}')

    return Handler


class Server(ThreadingHTTPServer):
    """Logs a client that hung up as one line, not a traceback: such
    tracebacks used to fill the log tails tests print on failure."""

    # One Stats API query can open 30 connections at once (a goal breakdown
    # with a comparison). socketserver's default backlog of 5 overflowed
    # then, and a connection set up by SYN cookie was now and then lost:
    # a 503 for a query AE would have answered.
    request_queue_size = 256

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionResetError, BrokenPipeError)):
            print(f"ae stand-in: {client_address[0]}:{client_address[1]} hung up: {err!r}", file=sys.stderr, flush=True)
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True, help="chDB data directory")
    ap.add_argument("--token", default=os.environ.get("AE_SQL_TOKEN", "dev-token"))
    args = ap.parse_args()
    store = Store(args.data)
    server = Server(("127.0.0.1", args.port), make_handler(store, args.token))
    print(f"ae stand-in on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
