#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz for a while, starting from the seed corpus.
#   usage: tests/fuzz/run_all.sh <build dir> <seconds per harness>
# Exits non-zero when a harness reports a crash, leak, timeout or sanitizer error; the input
# that caused it is left in <build dir>/fuzz-artifacts/. New inputs the fuzzer finds go to
# <build dir>/fuzz-corpus/<harness>/, never into the source tree.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <build dir> <seconds per harness>" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
harnesses=(decode_image_fuzzer)

mkdir -p "$build/fuzz-artifacts"
status=0
for name in "${harnesses[@]}"; do
  binary=$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)
  if [ -z "$binary" ]; then
    echo "run_all.sh: expected a built $name under $build, got none" >&2
    exit 1
  fi
  work="$build/fuzz-corpus/$name"
  mkdir -p "$work"
  echo "== $name: ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
      -print_final_stats=1 -dict="$here/image.dict" -artifact_prefix="$build/fuzz-artifacts/$name-" \
      "$work" "$here/corpus" 2>"$build/fuzz-artifacts/$name.log"; then
    tail -n 60 "$build/fuzz-artifacts/$name.log" >&2
    echo "$name: FAILED (log: $build/fuzz-artifacts/$name.log)" >&2
    status=1
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)" \
      "$build/fuzz-artifacts/$name.log" || true
  fi
done
exit $status
