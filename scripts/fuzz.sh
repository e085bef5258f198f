#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for N seconds (default 60),
# starting from its seed corpus. New crash inputs are left in tests/fuzz/ as crash-*;
# keep each one as a regression input in the target's corpus after fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bash scripts/setup.sh
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DPOSTERN_FUZZ=ON -DPOSTERN_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')
cmake --build build-fuzz -j"$(nproc)" --target $targets
# Every target runs even after one fails, so one run shows every crash; a failing target's
# report (the stack and the input) is printed in full, not just the final statistics.
failed=""
for t in $targets; do
  work=$(mktemp -d)
  log=$(mktemp)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "fuzz: $t for ${secs}s"
  if (cd tests/fuzz && "../../build-fuzz/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 \
      -print_final_stats=1 "$work" >"$log" 2>&1); then
    tail -3 "$log"
  else
    grep -v -E '^#[0-9]+' "$log" | tail -60
    failed="$failed $t"
  fi
  rm -rf "$work" "$log"
done
if [ -n "$failed" ]; then
  echo "fuzz: FAILED:$failed (the inputs are in tests/fuzz/crash-*, leak-*, timeout-* or oom-*)" >&2
  exit 1
fi
