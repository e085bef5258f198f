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
for t in $targets; do
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  echo "fuzz: $t for ${secs}s"
  (cd tests/fuzz && "../../build-fuzz/tests/fuzz/$t" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 "$work" 2>&1 | tail -3)
  rm -rf "$work"
done
