#!/usr/bin/env bash
# Configures and builds postern. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# The executable lands at BUILD_DIR/postern (default build/postern).
# POSTERN_TARGET=postern_cli builds only the executable.
# POSTERN_WERROR=ON makes every warning in postern's own code an error (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPOSTERN_WERROR="${POSTERN_WERROR:-OFF}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" ${POSTERN_TARGET:+--target "$POSTERN_TARGET"}
