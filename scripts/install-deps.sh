#!/usr/bin/env bash
# Installs the Debian packages peat-node needs to build, test and benchmark. Idempotent:
# installs only what is missing, so a second run is a quick no-op.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang clang-format libclang-rt-14-dev
  libboost-dev libnghttp2-dev libprotobuf-dev protobuf-compiler libssl-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libsimdjson-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libnats-dev
  nghttp2-client wrk redis-server redis-tools jq curl ca-certificates procps
  iproute2 sqlite3 nats-server
  chromium
)
# Node.js: the machine image ships Node 20 with its own npm; Debian's npm conflicts with it, so the
# Debian packages are used only where no node exists at all.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

# PEAT_DEPS=build (the container image's build stage): only what compiling peat-node needs; no
# Node.js (the web console's bundle is built on the host, scripts/package/build-image.sh), load
# generators, servers, client tools or the browser of the console's tests.
if [[ ${PEAT_DEPS:-all} == build ]]; then
  build_only=()
  for p in "${packages[@]}"; do
    case $p in
      nodejs | npm | chromium | clang | clang-format | libclang-rt-14-dev | nghttp2-client | wrk | redis-* | jq | curl | procps | iproute2 | sqlite3 | nats-server) ;;
      *) build_only+=("$p") ;;
    esac
  done
  packages=("${build_only[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi
