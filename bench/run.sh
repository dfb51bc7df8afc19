#!/usr/bin/env bash
# One command per benchmark (issue 7): bench/run.sh scale|catchup|reads|punctuality|sql|all [--smoke] [options]
# Each starts its own throwaway PostgreSQL, the fake platform and mediaxd from the build tree
# ($MEDIAX_BUILD_DIR, default build/), and writes its section of bench/RESULTS.md.
# `bench/run.sh all --help` lists the options. Needs: python3, psql, pgbench, wrk.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Debian's interpreter (standard library only); any python3 >= 3.9 does.
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3)"
exec "$PY" "$HERE/bench.py" "$@"
