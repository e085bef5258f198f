#!/usr/bin/env bash
# Installs every Debian package postern's build, tests, demo and benchmarks need.
# Idempotent and non-interactive; run as root on a fresh Debian 12 machine.
set -euo pipefail

# Packages are installed with --no-install-recommends, so whatever a tool only
# Recommends but our use of it needs is listed here by itself. One group per
# line, with the tool that needs it; to add a package, add a line.
packages=(
  # the build (scripts/build.sh)
  build-essential cmake ninja-build pkg-config git
  libssl-dev libasio-dev libcli11-dev nlohmann-json3-dev libfmt-dev libgsasl-dev libsqlite3-dev
  libgtest-dev libgmock-dev         # unit tests
  libbenchmark-dev                  # bench/ (POSTERN_BENCH is on by default)
  clang libclang-rt-14-dev          # scripts/fuzz.sh: clang's libFuzzer, ASan and UBSan runtimes
  # servers and tools of the integration tests and the demo
  openssl                           # harness: certificates, s_server, s_client, ciphers -V
  postfix                           # test and demo instances (postfix -c DIR)
  python3 python3-aiosmtpd          # /usr/bin/python3 test servers (tests/integration/servers)
  time                              # /usr/bin/time: postern's peak memory (harness, test_faults)
  sslscan
  testssl.sh                        # its Depends bring hexdump, ps and dig
  chromium                          # headless rendering of probe --html (test_probe)
  cargo rustc librust-rustls-dev    # tests/integration/rustls_client, built offline from Debian's crates
  dante-server microsocks tinyproxy # SOCKS5 and HTTP CONNECT proxies (test_proxy)
  doxygen                           # docs.doxygen test: the API reference from the public headers
  git-email                         # git send-email (test_sendmail)
  python3-prometheus-client         # test_watch: its text parser reads postern watch --prometheus files
  libmailtools-perl                 # git-email Recommends: Mail::Address, which git send-email requires
  python3-dkim python3-nacl         # test_dkim: dkimpy verifies postern's DKIM signatures (nacl: Ed25519)
  libmail-dkim-perl                 # test_dkim: Mail::DKIM, the second, independent DKIM verifier
  # peers in bench/send
  swaks libnet-ssleay-perl          # swaks' TLS needs Net::SSLeay, only a Recommends
  curl msmtp
  # bench/bulk: smtp-sink and smtp-source come with postfix; stunnel4 puts implicit TLS in front
  # of smtp-sink; nodejs runs the nodemailer pool (bench/bulk/setup installs it with npm, pinned)
  stunnel4 nodejs
  # message building (issue 10): content types of attachments, IDNA A-labels, a second MIME parser
  libmagic-dev libidn2-dev          # src/client/message.cpp (libmagic), src/send/idna.cpp (libidn2)
  maildrop                          # reformime: the independent MIME judge of test_messages
  # postern relay (issue 11)
  libcrypt-dev                      # src/relay/users.cpp: crypt(3) from libxcrypt checks the users file
  # the shared queue (issue 11): libpq for src/queue/postgresql_store.cpp, a private server for the tests
  libpq-dev                         # src/queue/postgresql_store.cpp (--queue postgresql://…)
  postgresql                        # harness.PostgreSQL: initdb + pg_ctl of /usr/lib/postgresql/15/bin
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

# bench/bulk/setup needs npm: Debian packages it apart from nodejs (NodeSource's nodejs bundles
# it and conflicts with Debian's npm), so it is only installed when no npm is there.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: npm" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# The package's own instance would take port 25 and is not ours to use.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet postfix 2>/dev/null; then
  systemctl stop postfix || true
fi
if [ -f /etc/postfix/main.cf ] && postfix status >/dev/null 2>&1; then
  postfix stop >/dev/null 2>&1 || true
fi
# Likewise the proxies' own instances (tinyproxy on 8888, danted) and the cluster the postgresql
# package creates (port 5432): the tests start their own.
for svc in tinyproxy danted postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "setup: all packages present"
