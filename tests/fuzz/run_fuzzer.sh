#!/bin/sh
# Runs one libFuzzer target briefly, as ctest's fuzz_smoke_* tests do:
#   run_fuzzer.sh BINARY CORPUS_DIR [ARTIFACT_DIR]
# MEDIAX_FUZZ_SECONDS (default 10) sets the time. New inputs go to a temp dir, never into the committed
# corpus; a crashing input is written to ARTIFACT_DIR (default: beside the binary) and the test fails.
# Exit 77 (ctest: skipped) when the binary was not built (admin/dev.sh test builds it with clang).
set -eu
bin="$1"
corpus="$2"
artifacts="${3:-$(dirname "$bin")/../artifacts}"
if [ ! -x "$bin" ]; then
  echo "skipped: $bin is not built (admin/dev.sh test builds tests/fuzz with clang++-14 into <build>/fuzz)"
  exit 77
fi
seconds="${MEDIAX_FUZZ_SECONDS:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
name="$(basename "$bin")"
dict=""
case "$name" in
  fuzz_config) ;;
  fuzz_http_request) dict="-dict=$(dirname "$0")/http.dict" ;;
  fuzz_wechat_component_push) dict="-dict=$(dirname "$0")/xml.dict" ;;
  *) dict="-dict=$(dirname "$0")/json.dict" ;;
esac
# shellcheck disable=SC2086  # $dict is one word or none
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 $dict \
  -artifact_prefix="$artifacts/$name-" "$work" "$corpus"
