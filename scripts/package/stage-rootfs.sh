#!/usr/bin/env bash
# Stages the container image's root filesystem: the single source of the image's content
# (docs/DEPLOYMENT.md "Plain container"; PACKAGING.md §2.1 "Rootfs, nothing else"). The Dockerfile's
# final stage is `FROM scratch` + `COPY --from=build /rootfs /`, and scripts/package/check-image.sh
# runs this same script without any container engine, so what CI checks is what the image ships.
#
#   scripts/package/stage-rootfs.sh ROOTFS [BINARY]     (as root: files are owned by 0 and 65532)
#
# ROOTFS must not exist or be empty. BINARY defaults to build/peat-node (relative to the repo); the
# operator CLI `peat` is taken from the same directory. The tree holds exactly:
#   /usr/bin/peat-node                 the binary, stripped
#   /usr/bin/peat                      the CLI (docs/CLI.md), stripped; its libraries are a subset
#   its ldd closure + the ELF loader   copied from this machine (/usr/lib/x86_64-linux-gnu, ...),
#                                      with the merged-/usr links (/lib -> usr/lib, /lib64 -> usr/lib64)
#   /etc/ssl/certs/ca-certificates.crt the CA bundle (ca-certificates)
#   /etc/passwd, /etc/group            root and peat (65532:65532), no login shell
#   /etc/nsswitch.conf                 files, then dns (glibc >= 2.34 has both built into libc)
#   /data/peat-node                    65532:65532 0750 (the VOLUME)
#   /tmp                               1777
# Deterministic: every mtime is SOURCE_DATE_EPOCH (default: the last commit's time, else 0).
set -euo pipefail

usage() {
  echo "usage: $0 ROOTFS [BINARY]" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rootfs="$1"
binary="${2:-$repo/build/peat-node}"
cli="$(dirname "$binary")/peat"

die() {
  echo "stage-rootfs: $*" >&2
  exit 1
}
[[ $(id -u) == 0 ]] || die "must run as root (files are owned by uid 0 and 65532)"
[[ -x $binary ]] || die "$binary: not an executable (build it first: make build)"
[[ -x $cli ]] || die "$cli: not an executable (build it first: make build)"
if [[ -e $rootfs ]] && [[ -n $(ls -A "$rootfs") ]]; then
  die "$rootfs exists and is not empty; give a new directory"
fi
for tool in ldd strip readelf; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install binutils libc-bin)"
done
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[[ -s $ca_bundle ]] || die "$ca_bundle missing (apt-get install ca-certificates)"

epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}"
[[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number of seconds, got '$epoch'"

umask 022
mkdir -p "$rootfs"
rootfs="$(cd "$rootfs" && pwd)"

# The binary, stripped (a RelWithDebInfo build carries ~100 MB of debug info).
install -d -m 0755 "$rootfs/usr/bin"
strip --strip-all -o "$rootfs/usr/bin/peat-node" "$binary"
chmod 0755 "$rootfs/usr/bin/peat-node"
strip --strip-all -o "$rootfs/usr/bin/peat" "$cli"
chmod 0755 "$rootfs/usr/bin/peat"

# A path as this machine resolves it (merged /usr: /lib/x/libz.so.1 -> /usr/lib/x/libz.so.1), plus
# the top-level link the binary or loader may name, recreated in the rootfs.
copy_library() {
  local path="$1" top dir real
  top="/$(cut -d/ -f2 <<<"$path")"
  if [[ -L $top ]]; then
    [[ -e $rootfs$top || -L $rootfs$top ]] || ln -s "$(readlink "$top")" "$rootfs$top"
  fi
  dir="$(readlink -f "$(dirname "$path")")"
  real="$(readlink -f "$path")"
  install -d -m 0755 "$rootfs$dir"
  install -m "$(stat -c %a "$real")" "$real" "$rootfs$dir/$(basename "$path")"  # ld.so: 0755
}

# ldd lines: "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" and the loader
# "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
mapfile -t libs < <(ldd "$binary" | awk '
  $2 == "=>" && $3 ~ /^\// { print $3; next }
  $2 == "=>" { print "MISSING " $1; next }
  $1 ~ /^\// { print $1 }' | sort -u)
((${#libs[@]} > 0)) || die "ldd found no libraries for $binary (static?)"
# The CLI's libraries are a subset of the node's (one closure serves both).
extra="$(comm -23 <(ldd "$cli" | awk '{print $1}' | sort) <(ldd "$binary" | awk '{print $1}' | sort))"
[[ -z $extra ]] || die "$cli needs libraries $binary does not: $extra"
for lib in "${libs[@]}"; do
  [[ $lib != MISSING* ]] || die "ldd: ${lib#MISSING } not found"
  copy_library "$lib"
done
interp="$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
[[ -n $interp ]] || die "$binary has no ELF interpreter"
[[ -e $rootfs$interp ]] || die "the loader $interp is not in the staged tree"

# /etc: CA bundle, users, name service order.
install -d -m 0755 "$rootfs/etc" "$rootfs/etc/ssl" "$rootfs/etc/ssl/certs"
install -m 0644 "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'peat:x:65532:65532:peat-node:/data/peat-node:/sbin/nologin' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'peat:x:65532:' >"$rootfs/etc/group"
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"

# The data volume and a world-writable /tmp.
install -d -m 0755 "$rootfs/data"
install -d -m 0750 -o 65532 -g 65532 "$rootfs/data/peat-node"
install -d -m 1777 "$rootfs/tmp"

# Fixed mtimes, links included, so two stagings of the same inputs are byte-identical.
find "$rootfs" -exec touch -h -d "@$epoch" {} +

echo "stage-rootfs: $rootfs ($(du -sb "$rootfs" | cut -f1) bytes, ${#libs[@]} libraries)" >&2
