# Shared by scripts/*: paths, pinned versions, and the local stack's
# start/stop. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
BEACON_DIR="$ROOT/.beacon"
VENV="$BEACON_DIR/venv"
export WRANGLER_SEND_METRICS=false
export CARGO_TERM_COLOR=never
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

# Pinned tool versions (see ../shared/DESIGN.md, toolchain facts).
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
PLAUSIBLE_CLI_VERSION=2.0.0
# Only scripts/mutants uses it; scripts/test does not.
CARGO_MUTANTS_VERSION=27.1.0

# Every worker the stack runs, as crate-dir:wrangler-config.
WORKERS=("workers/ingest:wrangler/ingest.toml" "durable-objects/site:wrangler/site.toml" "workers/query:wrangler/query.toml")
# Built too, but only run by scripts/bench.
BENCH_WORKERS=("tests/hello-worker:wrangler/hello.toml")

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# tool_at CRATE VERSION MINUTES BIN [ARGS…]: cargo-installs CRATE at VERSION
# into .beacon/tools unless `BIN ARGS…` there already reports VERSION last.
tool_at() {
  local crate=$1 version=$2 minutes=$3 bin="$BEACON_DIR/tools/bin/$4"
  shift 4
  if [ "$("$bin" "$@" 2>/dev/null | awk '{print $NF}')" != "$version" ]; then
    log "installing $crate $version (~$minutes min)"
    cargo install "$crate" --version "$version" --locked --quiet --root "$BEACON_DIR/tools"
  fi
}

# A free TCP port on loopback, below the kernel's ephemeral range, and
# not one this script has handed out already. A port from bind(0) is in
# that range: until our server binds it, the kernel may give it to an
# outgoing connection or another bind(0) (a CI run lost the query
# worker's port so, to a port workerd or a client took in between).
PORTS_TAKEN="${TMPDIR:-/tmp}/beacon-ports.$$"
free_port() {
  python3 - "$PORTS_TAKEN" <<'PY'
import random, socket, sys
taken_file = sys.argv[1]
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
try:
    taken = set(open(taken_file).read().split())
except OSError:
    taken = set()
for _ in range(500):
    port = random.randint(10000, max(10001, low - 1))
    if str(port) in taken:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    with open(taken_file, "a") as f:
        f.write(f"{port}\n")
    print(port)
    break
else:
    sys.exit("no free port below the ephemeral range")
PY
}

# wait_http URL SECONDS [HOST]: until URL answers 2xx, or fail.
wait_http() {
  local url=$1 secs=$2 host=${3:-} i
  for ((i = 0; i < secs * 4; i++)); do
    if curl -fsS -o /dev/null ${host:+-H "host: $host"} "$url" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  return 1
}

# Builds one worker crate with worker-build, without its downloads.
build_worker() {
  local dir=$1
  ( cd "$ROOT/$dir" && WASM_BINDGEN_BIN=wasm-bindgen WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" \
      ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" worker-build --release >"$BEACON_DIR/build-$(basename "$dir").log" 2>&1 ) \
    || { tail -40 "$BEACON_DIR/build-$(basename "$dir").log" >&2; die "build of $dir failed"; }
  local wasm="$ROOT/$dir/build/index_bg.wasm"
  "$ROOT/node_modules/.bin/wasm-opt" "$wasm" --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
    --enable-multivalue --enable-reference-types --enable-exception-handling -o "$wasm.stripped" \
    && mv "$wasm.stripped" "$wasm"
}

wrangler() { "$ROOT/node_modules/.bin/wrangler" "$@"; }

# The stack's processes, as PIDs of their own process groups.
STACK_PGIDS=()

# spawn LOGFILE CMD...: runs CMD in a new session (its own process group),
# so stopping it stops everything it started (wrangler's workerd too).
spawn() {
  local logfile=$1; shift
  setsid "$@" >"$logfile" 2>&1 < /dev/null &
  STACK_PGIDS+=("$!")
}

# stack_start STATE_DIR ENV_FILE: migrates and seeds D1, starts the AE
# stand-in and every worker on free ports, writes ENV_FILE.
stack_start() {
  local state=$1 env_file=$2
  mkdir -p "$state" "$(dirname "$env_file")"
  local ae_port ingest_port query_port inspector_port
  ae_port=${BEACON_AE_PORT:-$(free_port)}
  ingest_port=${BEACON_INGEST_PORT:-$(free_port)}
  query_port=${BEACON_QUERY_PORT:-$(free_port)}
  inspector_port=$(free_port)
  local cfg="$ROOT/wrangler/ingest.toml"
  # The query worker reaches the site object in ingest's wrangler process
  # through wrangler's dev registry, which names workers machine-wide: a
  # registry of this stack's own keeps it from finding another stack's
  # (scripts/test's beside scripts/dev's, say).
  local -x WRANGLER_REGISTRY_PATH="$state/registry"

  log "applying D1 migrations and seeding ($state)"
  wrangler d1 migrations apply DB --local --env local -c "$cfg" --persist-to "$state/wrangler" >"$state/migrate.log" 2>&1 \
    || { cat "$state/migrate.log" >&2; die "migrations failed"; }
  wrangler d1 execute DB --local --env local -c "$cfg" --persist-to "$state/wrangler" --file "$ROOT/scripts/seed.sql" >"$state/seed.log" 2>&1 \
    || { cat "$state/seed.log" >&2; die "seeding failed"; }

  log "starting the AE stand-in on :$ae_port"
  spawn "$state/ae.log" "$VENV/bin/python" "$ROOT/scripts/standins/ae.py" --port "$ae_port" --data "$state/ae" --token dev-token
  wait_http "http://127.0.0.1:$ae_port/health" 60 || { cat "$state/ae.log" >&2; die "AE stand-in did not start"; }

  log "starting the ingest worker on :$ingest_port"
  # One wrangler process runs every worker; the first config is the one
  # served on the port, the others are reached through their bindings.
  # BEACON_STACK_WITHOUT_SITE=1 leaves the site object out (tests of ingest's fallback).
  local site_cfg=(-c "$ROOT/wrangler/site.toml")
  [ "${BEACON_STACK_WITHOUT_SITE:-}" = 1 ] && site_cfg=()
  spawn "$state/ingest.log" "$ROOT/node_modules/.bin/wrangler" dev -c "$cfg" "${site_cfg[@]}" --env local \
    --ip 127.0.0.1 --port "$ingest_port" --inspector-port "$inspector_port" --persist-to "$state/wrangler" \
    --var "AE_LOCAL_URL:http://127.0.0.1:$ae_port" --show-interactive-dev-session=false
  wait_http "http://127.0.0.1:$ingest_port/healthz" 120 || { tail -50 "$state/ingest.log" >&2; die "ingest worker did not start"; }

  log "starting the query worker on :$query_port"
  # Its own process and port (the Stats API's hostname in production),
  # over the same persisted D1.
  spawn "$state/query.log" "$ROOT/node_modules/.bin/wrangler" dev -c "$ROOT/wrangler/query.toml" --env local \
    --ip 127.0.0.1 --port "$query_port" --inspector-port "$(free_port)" --persist-to "$state/wrangler" \
    --var "AE_SQL_URL:http://127.0.0.1:$ae_port/sql" --var "AE_SQL_TOKEN:dev-token" --show-interactive-dev-session=false
  wait_http "http://127.0.0.1:$query_port/healthz" 120 || { tail -50 "$state/query.log" >&2; die "query worker did not start"; }

  cat >"$env_file" <<ENV
INGEST_URL=http://127.0.0.1:$ingest_port
QUERY_URL=http://127.0.0.1:$query_port
AE_SQL_URL=http://127.0.0.1:$ae_port/sql
AE_SQL_TOKEN=dev-token
AE_LOCAL_URL=http://127.0.0.1:$ae_port
DEMO_HOST=t.demo.localhost
DEMO_SITE_ID=demo
DEMO_DOMAIN=demo.example
TEAM_HOST=t.demo2.localhost
TEAM_SITE_ID=demo2
TEAM_DOMAIN=second.demo.example
TEAM_TIMEZONE=America/New_York
OTHER_HOST=t.other.localhost
OTHER_SITE_ID=other
OTHER_DOMAIN=other.example
INACTIVE_HOST=t.paused.localhost
DEMO_API_KEY=bk_demo_read_0123456789abcdef
OTHER_API_KEY=bk_other_read_0123456789abcdef
REVOKED_API_KEY=bk_demo_revoked_0123456789abcdef
LIMITED_API_KEY=bk_demo_limited_0123456789abcdef
STATE_DIR=$state
ENV
}

# Stops every process group spawn started, then checks none is left.
stack_stop() {
  local pgid
  for pgid in "${STACK_PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for _ in $(seq 1 40); do
    local alive=0
    for pgid in "${STACK_PGIDS[@]}"; do pgrep -g "$pgid" >/dev/null 2>&1 && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.25
  done
  local left=""
  for pgid in "${STACK_PGIDS[@]}"; do
    if pgrep -g "$pgid" >/dev/null 2>&1; then
      left+="$(pgrep -a -g "$pgid")"$'\n'
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  done
  STACK_PGIDS=()
  # Their ports are free again.
  rm -f "$PORTS_TAKEN"
  # Anything that needed SIGKILL did not stop as asked: report it.
  if [ -n "$left" ]; then printf 'warning: killed processes that ignored SIGTERM:\n%s' "$left" >&2; return 1; fi
}
