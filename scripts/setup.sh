#!/usr/bin/env bash
# Installs every Debian package postern's build, tests, demo and benchmarks need.
# Idempotent and non-interactive; run as root on a fresh Debian 12 machine.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl libasio-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libgsasl-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  postfix python3-aiosmtpd
  swaks libnet-ssleay-perl curl msmtp python3 time
  sslscan testssl.sh chromium cargo rustc librust-rustls-dev git-email
  dante-server microsocks tinyproxy
  doxygen  # docs.doxygen test: the API reference from the public headers
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Postfix must not ask questions nor run a system instance on port 25:
  # the test harness starts its own instances on loopback ports.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package's own instance would take port 25 and is not ours to use.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet postfix 2>/dev/null; then
  systemctl stop postfix || true
fi
if [ -f /etc/postfix/main.cf ] && postfix status >/dev/null 2>&1; then
  postfix stop >/dev/null 2>&1 || true
fi
# Likewise the proxies' own instances (tinyproxy on 8888, danted): the tests start their own.
for svc in tinyproxy danted; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "setup: all packages present"
