#!/bin/sh
# Build the reference rustls client offline from Debian's packaged crates.
#
#   build.sh [BUILD_DIR]        (default /tmp/postern-rustls-client)
#
# Result: BUILD_DIR/bin/rustls_client. The sources are copied to BUILD_DIR/src
# first so no Cargo.lock or target/ is written into the source tree. Debian's
# cargo and rustc are pinned (a rustup toolchain may be first on PATH); the
# project's .cargo/config.toml replaces crates.io with /usr/share/cargo/registry
# and sets net.offline, so the build never touches the network. Rebuilds only
# when a source file changed (a hash of the sources is kept in BUILD_DIR/stamp).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-/tmp/postern-rustls-client}
CARGO=${POSTERN_CARGO:-/usr/bin/cargo}
RUSTC=${POSTERN_RUSTC:-/usr/bin/rustc}
[ -x "$CARGO" ] || { echo "build.sh: $CARGO not found (Debian package cargo, scripts/setup.sh)" >&2; exit 3; }
[ -x "$RUSTC" ] || { echo "build.sh: $RUSTC not found (Debian package rustc)" >&2; exit 3; }
[ -d /usr/share/cargo/registry ] || { echo "build.sh: /usr/share/cargo/registry missing (librust-rustls-dev)" >&2; exit 3; }

hash=$(cd "$HERE" && cat Cargo.toml .cargo/config.toml src/*.rs | sha256sum | cut -d' ' -f1)
if [ -x "$OUT/bin/rustls_client" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$hash" ]; then
    echo "$OUT/bin/rustls_client"
    exit 0
fi
mkdir -p "$OUT/src" "$OUT/bin" "$OUT/cargo-home"
rm -rf "$OUT/src/src" "$OUT/src/.cargo"
cp -r "$HERE/Cargo.toml" "$HERE/src" "$HERE/.cargo" "$OUT/src/"
cd "$OUT/src"
# A private CARGO_HOME: no ~/.cargo/config from a rustup install can interfere.
CARGO_HOME="$OUT/cargo-home" RUSTC="$RUSTC" RUSTDOC=/usr/bin/rustdoc \
    "$CARGO" build --release --offline --quiet --target-dir "$OUT/target" >&2
cp "$OUT/target/release/rustls_client" "$OUT/bin/rustls_client.tmp"
mv "$OUT/bin/rustls_client.tmp" "$OUT/bin/rustls_client"
echo "$hash" > "$OUT/stamp"
echo "$OUT/bin/rustls_client"
