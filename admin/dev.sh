#!/usr/bin/env bash
# Developer and CI entry point. Both subcommands are idempotent and work from any cwd, as root or not.
#   admin/dev.sh run    install what is missing, build, start a private PostgreSQL under var/pg,
#                       create and migrate the `mediax` database, then run mediaxd in the foreground
#   admin/dev.sh test   the same set-up without the daemon, the fuzz targets (clang), then the whole
#                       ctest suite (MEDIAX_FUZZ_SECONDS: how long each fuzz target runs, default 10),
#                       then the unit and integration tests again under ThreadSanitizer in a second
#                       build tree, $BUILD-tsan (MEDIAX_TSAN=0 skips it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MEDIAX_BUILD_DIR:-$ROOT/build}"  # override only to keep a second build tree
TEST_SHARDS=0  # `test` sets 4: see build()
VAR="$ROOT/var"
PGROOT="$VAR/pg"
PORT=5432  # only names the socket file: the cluster listens on no TCP port

PACKAGES=(build-essential cmake pkg-config libpqxx-dev libboost-dev libboost-system-dev libboost-context-dev libcpp-httplib-dev
          libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev libpugixml-dev libexpected-dev libsystemd-dev libssl-dev libgtest-dev libgmock-dev
          postgresql pgbouncer nodejs npm wrk chromium python3 clang-14 libclang-rt-14-dev)

log() { printf '[dev.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat >&2 <<EOF
usage: admin/dev.sh run | test
  run    set up (packages, build, PostgreSQL in var/pg, database, var/dev.toml, migrations) and run mediaxd
  test   the same set-up without the daemon, then ctest --test-dir build --output-on-failure, then
         the unit and integration tests under ThreadSanitizer (build-tsan; MEDIAX_TSAN=0 skips it)
EOF
  exit 2
}

IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1
as_root() {
  if (( IS_ROOT )); then "$@"; else sudo "$@"; fi
}

package_installed() {
  local status
  status="$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p')" || true
  [[ "$status" == "install ok installed" ]] && return 0
  # NodeSource's nodejs ships npm itself and conflicts with Debian's npm package.
  if [[ "$1" == npm ]] && command -v npm >/dev/null 2>&1; then return 0; fi
  return 1
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    package_installed "$p" || missing+=("$p")
  done
  if (( ${#missing[@]} == 0 )); then
    return 0
  fi
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

build() {
  local args=(-S "$ROOT" -B "$BUILD")
  [[ "${CI:-}" == true ]] && args+=(-DMEDIAX_WERROR=ON)
  # `test` runs each GoogleTest program in a few processes, `run` leaves a ctest test per test
  # (tests/CMakeLists.txt, MEDIAX_TEST_SHARDS).
  args+=(-DMEDIAX_TEST_SHARDS="$TEST_SHARDS")
  cmake "${args[@]}"
  cmake --build "$BUILD" -j2
}

# The libFuzzer targets (tests/fuzz) need clang while the main build uses g++: a CMake project of their
# own in $BUILD/fuzz, linking the daemon's folder libraries up to http/ (cmake/MediaxFolders.cmake);
# ctest runs each briefly (fuzz_smoke_*).
build_fuzzers() {
  local cxx
  cxx="$(command -v clang++-14 || command -v clang++ || true)"
  if [[ -z "$cxx" ]]; then
    log "no clang++: the fuzz_smoke tests will be skipped"
    return 0
  fi
  cmake -S "$ROOT/tests/fuzz" -B "$BUILD/fuzz" -DCMAKE_CXX_COMPILER="$cxx"
  cmake --build "$BUILD/fuzz" -j2
}

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  printf '%s\n' "$d"
}

# ThreadSanitizer: the unit and integration tests built again with clang at -O1 (instrumented code
# runs 5-15x slower; -O1 keeps that bearable and the reports readable) in a tree of their own.
TSAN_BUILD="$BUILD-tsan"
build_tsan() {
  local cxx
  cxx="$(command -v clang++-14 || command -v clang++ || true)"
  [[ -n "$cxx" ]] || die "no clang++ for the ThreadSanitizer build (MEDIAX_TSAN=0 skips it)"
  cmake -S "$ROOT" -B "$TSAN_BUILD" -DCMAKE_CXX_COMPILER="$cxx" -DMEDIAX_SANITIZE=thread -DMEDIAX_TEST_SHARDS=4 \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" >/dev/null
  cmake --build "$TSAN_BUILD" -j2 --target unit_tests integration_tests mediax-test-pg
}

run_tsan() {
  log "ThreadSanitizer run of the unit and integration tests ($TSAN_BUILD)"
  # exitcode: a report fails the test even when the test itself passed. The HTTP server tests are
  # not built in this tree (under it they report the first use of libspdlog's registry, which is
  # not instrumented, racing a logger).
  TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$ROOT/tests/tsan.supp" \
    ctest --test-dir "$TSAN_BUILD" -L 'unit|integration' -E '^server[.]' -j2 --output-on-failure
}

# The e2e tests that run alone: thousands of grants, database outages under load, several daemons
# racing, circuit breakers and head deadlines timed against the clock.
E2E_ALONE='^e2e[.](Soak|Outage|MultiInstance|Breaker|TricklingClients)[.]'

# Runs a PostgreSQL binary as the cluster's owner: `postgres` when we are root (initdb refuses root).
pg_run() {
  if (( IS_ROOT )); then runuser -u postgres -- "$@"; else "$@"; fi
}

PG_STARTED_HERE=0
start_postgres() {
  local bin sock data
  bin="$(pg_bindir)"
  # A unix socket path is limited to 107 bytes, and as root the server runs as `postgres`, which
  # must reach the directory: otherwise the cluster goes to a private directory under /tmp.
  local why=""
  if (( ${#PGROOT} > 80 )); then
    why="the work tree path is too long for a unix socket"
  elif (( IS_ROOT )) && ! runuser -u postgres -- test -x "$ROOT"; then
    why="user postgres cannot reach $ROOT"
  fi
  if [[ -n "$why" ]]; then
    PGROOT="/tmp/mediax-pg-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
    log "$why; PostgreSQL goes to $PGROOT"
  fi
  sock="$PGROOT/socket"
  data="$PGROOT/data"
  mkdir -p "$VAR" "$PGROOT" "$sock"
  chmod 755 "$PGROOT"
  chmod 700 "$sock"
  if (( IS_ROOT )); then
    chown -R postgres:postgres "$PGROOT"
    runuser -u postgres -- test -x "$PGROOT" || die "user postgres cannot reach $PGROOT (check the parents' permissions)"
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initdb $data"
    rm -rf "$data"
    pg_run "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$PGROOT/initdb.log" 2>&1 \
      || { cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }
  fi
  if pg_run "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "reusing the running PostgreSQL in $data"
  else
    log "starting PostgreSQL (socket $sock)"
    pg_run "$bin/pg_ctl" -D "$data" -l "$PGROOT/postgres.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$sock' -p $PORT -c fsync=off" start >/dev/null \
      || { tail -n 30 "$PGROOT/postgres.log" >&2 || true; die "PostgreSQL did not start"; }
    PG_STARTED_HERE=1
  fi
  PG_SOCKET="$sock"
  PG_DATA="$data"
  PG_BIN="$bin"
  local i
  for i in $(seq 1 50); do
    "$bin/pg_isready" -q -h "$sock" -p "$PORT" && break
    sleep 0.2
  done
  "$bin/pg_isready" -q -h "$sock" -p "$PORT" || die "PostgreSQL does not answer on $sock"
}

stop_postgres_if_started() {
  if (( PG_STARTED_HERE )); then
    pg_run "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

create_database() {
  local exists
  exists="$("$PG_BIN/psql" -h "$PG_SOCKET" -p "$PORT" -U postgres -d postgres -tAX \
            -c "SELECT 1 FROM pg_database WHERE datname = 'mediax'")"
  if [[ "$exists" != 1 ]]; then
    log "creating database mediax"
    "$PG_BIN/psql" -h "$PG_SOCKET" -p "$PORT" -U postgres -d postgres -qX -c 'CREATE DATABASE mediax' >/dev/null
  fi
}

# The encryption key of stored secrets, made once (32 random bytes, mode 600) and kept: without it
# the dev database's secrets cannot be read.
ensure_dev_key() {
  DEV_KEY="$VAR/dev.key"
  if [[ ! -s "$DEV_KEY" ]]; then
    log "creating the encryption key $DEV_KEY"
    mkdir -p "$VAR"
    (umask 077 && head -c 32 /dev/urandom >"$DEV_KEY.tmp")
    mv "$DEV_KEY.tmp" "$DEV_KEY"
  fi
  chmod 600 "$DEV_KEY"
}

write_config() {
  CONFIG="$VAR/dev.toml"
  cat >"$CONFIG.tmp" <<EOF
# Written by admin/dev.sh; rewritten on every run.
[database]
url = "host=$PG_SOCKET port=$PORT dbname=mediax user=postgres"

[admin]
listen = "127.0.0.1:8080"
public_url = "http://127.0.0.1:8080"

[security]
key_file = "$DEV_KEY"
# Apps and webhooks in development point at this machine; production lists none.
allowed_private_networks = ["127.0.0.0/8", "::1/128"]

[log]
level = "debug"
EOF
  mv "$CONFIG.tmp" "$CONFIG"
}

setup() {
  install_packages
  build
  start_postgres
  create_database
  ensure_dev_key
  write_config
  "$BUILD/bin/mediaxd" migrate --config "$CONFIG"
}

# An admin API key for the dev daemon, made once and kept in var/dev-api-key (mode 600); made again
# when its row is gone or revoked (a fresh database, say). The key's name is in var/dev-api-key.name.
ensure_dev_api_key() {
  local file="$VAR/dev-api-key" name
  name="$(cat "$file.name" 2>/dev/null || true)"
  local keys
  keys="$("$BUILD/bin/mediaxd" list-api-keys --config "$CONFIG")"
  if [[ ! -s "$file" || -z "$name" ]] || ! awk -v n="$name" '$1 == n && $NF == "-" { found = 1 } END { exit !found }' <<<"$keys"; then
    name="dev-$(date +%Y%m%d%H%M%S)"
    (umask 077 && "$BUILD/bin/mediaxd" create-api-key --name "$name" --role admin --config "$CONFIG" >"$file.tmp" 2>/dev/null)
    mv "$file.tmp" "$file"
    echo "$name" >"$file.name"
  fi
  log "admin API key '$name' is in $file: curl -H \"Authorization: Bearer \$(cat $file)\" http://127.0.0.1:8080/v1/apps"
}

install_oidc_harness() {
  install_npm_folder "$ROOT/tests/e2e/oidc" "the oidc-provider harness"
  install_npm_folder "$ROOT/tests/e2e/console" "the console browser test (playwright-core)"
}

install_npm_folder() {
  local dir="$1"
  [[ -f "$dir/package.json" ]] || return 0
  # Missing, or older than the committed lock file (npm keeps its own copy in node_modules).
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "installing $2 (npm)"
    if [[ -f "$dir/package-lock.json" ]]; then
      (cd "$dir" && npm ci --no-audit --no-fund)
    else
      (cd "$dir" && npm install --no-audit --no-fund)
    fi
  fi
}

cmd="${1:-}"
case "$cmd" in
  run)
    setup
    ensure_dev_api_key
    # A dev database from before encryption at rest holds plain-text secrets: seal them (a no-op
    # when there is nothing to do).
    "$BUILD/bin/mediaxd" rotate-key --config "$CONFIG" >/dev/null || log "rotate-key reported problems (see above)"
    log "mediaxd on http://127.0.0.1:8080 (config $CONFIG)"
    exec "$BUILD/bin/mediaxd" --config "$CONFIG"
    ;;
  test)
    TEST_SHARDS=4
    trap stop_postgres_if_started EXIT
    setup
    install_oidc_harness
    build_fuzzers
    [[ "${MEDIAX_TSAN:-1}" == 0 ]] || build_tsan
    status=0
    # Two at a time where nothing waits on a deadline. The e2e tests mostly wait on timers and
    # processes (two of them at once load the 2 cores about 0.5), so three at a time, but those that
    # load the machine and measure under it (E2E_ALONE) and the benchmarks run one at a time, after.
    # (Each run starts and stops the shared test cluster.)
    ctest --test-dir "$BUILD" --output-on-failure -j2 -LE 'e2e|bench' || status=$?
    ctest --test-dir "$BUILD" --output-on-failure -j3 -L e2e -E "$E2E_ALONE" || status=$?
    ctest --test-dir "$BUILD" --output-on-failure -L 'e2e|bench' -R "$E2E_ALONE|^bench_" || status=$?
    if [[ "${MEDIAX_TSAN:-1}" != 0 ]]; then
      run_tsan || status=$?
    fi
    exit "$status"
    ;;
  *)
    usage
    ;;
esac
