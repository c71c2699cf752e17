#!/usr/bin/env bash
# Prints the path of a cached Debian 12 (bookworm) minbase root filesystem tarball, building it with
# mmdebstrap on first use (≈ 2 min, from this machine's apt sources; no container registry needed).
# Shared by the image build (imported as localhost/debian:bookworm) and the .deb install tests
# (unpacked into a throwaway chroot). Idempotent; safe to call from several scripts.
#
#   scripts/package/debian-base.sh            # -> /var/cache/peat-node/bookworm-minbase.tar
#   PEAT_PACKAGE_CACHE=/some/dir scripts/package/debian-base.sh
set -euo pipefail

cache="${PEAT_PACKAGE_CACHE:-/var/cache/peat-node}"
tarball="$cache/bookworm-minbase.tar"

if [[ -s "$tarball" ]]; then
  echo "$tarball"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "debian-base: installing mmdebstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2; }
fi

mkdir -p "$cache"
tmp="$(mktemp "$cache/.bookworm-minbase.XXXXXX.tar")"
trap 'rm -f "$tmp"' EXIT
echo "debian-base: mmdebstrap --variant=minbase bookworm -> $tarball" >&2
mmdebstrap --quiet --variant=minbase bookworm "$tmp" >&2
mv "$tmp" "$tarball"
trap - EXIT
echo "$tarball"
