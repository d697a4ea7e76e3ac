#!/usr/bin/env bash
# Builds the current PgBouncer release (which has KILL_CLIENT, 1.24+) for the pooler tests, which
# run against every PgBouncer installed (Debian's package is older and lacks KILL_CLIENT).
# Prints the binary's path as its last line; reuses a binary already built. Needs root (apt-get).
#
#   bin=$(scripts/build-pgbouncer.sh | tail -n 1)
#
# The source tarball is taken from, in order: $PGBOUNCER_TARBALL; a vendor/ directory beside a
# shared build-pgbouncer.sh of the workplace (../shared/tools, /work/shared/tools), whose script
# is then used as it is; else downloaded from pgbouncer.org. Its SHA-256 is checked either way.
set -euo pipefail
version=1.25.2
sha256=8c33f6d7b150e2c5ddb4400fa85cc49a039e9d0c590912ab90e8c6af1833ddc6
dest="${PGBOUNCER_BUILD_DIR:-/var/cache/pgbouncer-$version}"
bin="$dest/pgbouncer"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "PgBouncer $version"; then echo "$bin"; exit 0; fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for shared in "$root/../shared/tools" /work/shared/tools; do
  if [ -z "${PGBOUNCER_TARBALL:-}" ] && [ -x "$shared/build-pgbouncer.sh" ] && [ -f "$shared/vendor/pgbouncer-$version.tar.gz" ]; then
    echo "$shared/vendor/pgbouncer-$version.tar.gz $sha256" | awk '{print $2"  "$1}' | sha256sum -c --quiet - >&2
    exec "$shared/build-pgbouncer.sh"
  fi
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="${PGBOUNCER_TARBALL:-$work/pgbouncer-$version.tar.gz}"
if [ ! -f "$tarball" ]; then
  curl -fsSL --retry 3 -o "$tarball" "https://www.pgbouncer.org/downloads/files/$version/pgbouncer-$version.tar.gz" >&2
fi
echo "$sha256  $tarball" | sha256sum -c --quiet - >&2
need=()
for p in autoconf automake libtool pkg-config libevent-dev libssl-dev make gcc; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  { apt-get install -y "${need[@]}" || { apt-get update && apt-get install -y "${need[@]}"; }; } >&2
fi
tar -xzf "$tarball" -C "$work"
cd "$work/pgbouncer-$version"
{ { [ -x configure ] || ./autogen.sh; } && ./configure --without-cares && make -j"$(nproc)" pgbouncer; } >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
mkdir -p "$dest"
cp pgbouncer "$bin"
chmod 755 "$dest" "$bin"
"$bin" --version >&2
echo "$bin"
