# Shared by the image scripts (build-image.sh, check-image.sh, test-image.sh); source it, do not run
# it. Defines: $repo, $version (CMakeLists.txt project(VERSION), the single source), $image
# (localhost/peat-node:$version), ensure_packages PKG..., podman_cmd ARGS... (podman with the
# machine settings of containers.conf, PACKAGING.md §5), and log/die/skip.
# shellcheck shell=bash

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="$(sed -n 's/^project(peat-node VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")"
[[ -n $version ]] || { echo "image: cannot read the version from CMakeLists.txt" >&2; exit 1; }
# shellcheck disable=SC2034  # used by the scripts that source this file
image="localhost/peat-node:$version"
export CONTAINERS_CONF="$repo/scripts/package/containers.conf"

log() { echo "${log_prefix:-image}: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
# A check that cannot run here: said loudly, never counted as a pass.
skip() { log "SKIPPED: $*"; }

# Installs the Debian packages that are missing (idempotent; apt-get update only when needed).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2; }
}

podman_cmd() { podman --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"; }
