#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root): install packages, build
# build/postern, and run the demo against a real Postfix on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
POSTERN_TARGET=postern_cli bash scripts/build.sh build
/usr/bin/python3 scripts/demo.py build/postern
