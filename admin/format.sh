#!/usr/bin/env bash
# Formats the C++ sources with the repository's .clang-format (clang-format-14).
#   admin/format.sh           rewrite the tracked *.cpp / *.hpp files in place
#   admin/format.sh --check   change nothing; name the files that differ and exit 1 if any
#   admin/format.sh [--check] FILE...   only these files
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLANG_FORMAT="${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}"
[[ -n "$CLANG_FORMAT" ]] || { echo "format.sh: no clang-format-14 (apt-get install clang-format-14)" >&2; exit 2; }

check=0
if [[ "${1:-}" == --check ]]; then
  check=1
  shift
fi

cd "$ROOT"
if (( $# > 0 )); then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp')
fi
(( ${#files[@]} > 0 )) || exit 0

if (( ! check )); then
  "$CLANG_FORMAT" -i --style=file "${files[@]}"
  exit 0
fi

differ=0
for f in "${files[@]}"; do
  if ! "$CLANG_FORMAT" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "$f"
    differ=$((differ + 1))
  fi
done
if (( differ > 0 )); then
  echo "format.sh: $differ file(s) differ from .clang-format (admin/format.sh rewrites them)" >&2
  exit 1
fi
