#!/usr/bin/env bash
# Runs clang-tidy-14 with the repository's .clang-tidy over the C++ sources of a build tree's
# compile_commands.json (default build/; MEDIAX_BUILD_DIR for another), two files at a time.
#   admin/tidy.sh            every translation unit of daemon/, admin/mediaxctl/, tests/ and bench/
#   admin/tidy.sh REGEX      only files whose path matches REGEX (e.g. 'daemon/schedule/')
# Prints the findings, then their count per check. Exit status 1 when there are findings.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${MEDIAX_BUILD_DIR:-$ROOT/build}"
RUN_TIDY="$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)"
TIDY="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
[[ -n "$RUN_TIDY" && -n "$TIDY" ]] || { echo "tidy.sh: no clang-tidy-14 (apt-get install clang-tidy-14)" >&2; exit 2; }
[[ -f "$BUILD/compile_commands.json" ]] || { echo "tidy.sh: no $BUILD/compile_commands.json (configure with cmake first)" >&2; exit 2; }

filter="${1:-$ROOT/(daemon|admin/mediaxctl|tests|bench)/}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$RUN_TIDY" -clang-tidy-binary "$TIDY" -p "$BUILD" -quiet -j 2 "$filter" >"$out" 2>/dev/null || true
# run-clang-tidy asks for colours: strip them. A header's finding is printed once per file that
# includes it: keep each finding once.
findings="$(sed -E 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^/.*: (warning|error): ' | sort -u || true)"
if [[ -z "$findings" ]]; then
  echo "tidy.sh: no findings"
  exit 0
fi
printf '%s\n' "$findings"
echo
echo "tidy.sh: $(printf '%s\n' "$findings" | wc -l) finding(s) by check:"
printf '%s\n' "$findings" | sed -E 's/.*\[([^]]+)\]$/\1/' | sort | uniq -c | sort -rn
exit 1
