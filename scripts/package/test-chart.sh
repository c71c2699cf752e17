#!/usr/bin/env bash
# The chart, for real (PACKAGING.md §5; `make package-test-chart`, part of `make test-package`):
# renders two releases of the test parent chart chart/test/parent-injected, "alpha" and "bravo"
# (each one pod: an app container plus the injected peat-node sidecar, the formation key from a
# Secret), runs them with `podman kube play`, and runs the original's cross-cluster checks between
# them: node ids; bravo ConnectPeer to alpha by the pod's address and mesh port; PutNode and a
# deployments/alpha-agent:nginx document on alpha visible on bravo; the reverse; byte counters > 0.
# Every API call goes from the pod's app container to its sidecar over the pod's loopback (the
# chart's default listen, tcp://127.0.0.1:50051), as an application would; readiness is the
# chart's exec probe (`peat-node healthcheck`) run in the sidecar. Pods left by a killed run are
# replaced (kube play --replace).
#
#   scripts/package/test-chart.sh
#   PEAT_NODE_IMAGE=localhost/peat-node:0.1.0   the image (default: localhost/peat-node:<version>,
#                                               built by `make image`; missing = a clear failure)
#   PEAT_APP_IMAGE=localhost/debian:bookworm    the app container's image (needs /bin/bash; imported
#                                               from scripts/package/debian-base.sh when missing)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
start=$SECONDS
log() { echo "test-chart: $*"; }
die() {
  echo "test-chart: FAIL $*" >&2
  exit 1
}

version="$(sed -n 's/^project(peat-node VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
[[ -n "$version" ]] || die "no project(peat-node VERSION ...) in CMakeLists.txt"
image="${PEAT_NODE_IMAGE:-localhost/peat-node:$version}"
app_image="${PEAT_APP_IMAGE:-localhost/debian:bookworm}"

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  log "installing podman, runc"
  apt_install podman runc
fi

work="$(mktemp -d /tmp/peat-chart-test.XXXXXX)"
# The machine settings of PACKAGING.md §5 (runc, cgroupfs, file events logger, ulimits).
if [[ -f scripts/package/containers.conf ]]; then
  export CONTAINERS_CONF="$repo_root/scripts/package/containers.conf"
else
  cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$work/containers.conf"
fi

podman image exists "$image" ||
  die "image $image not found: build it with 'make image' (or point PEAT_NODE_IMAGE at a peat-node image)"
if ! podman image exists "$app_image"; then
  [[ "$app_image" == localhost/debian:bookworm ]] || die "app image $app_image not found"
  log "importing the bookworm base as $app_image"
  podman import -q "$(scripts/package/debian-base.sh)" "$app_image" >/dev/null
fi

HELM="$(scripts/package/helm.sh)"
parent="$work/parent-injected"
cp -r chart/test/parent-injected "$parent"
mkdir -p "$parent/charts"
cp -r chart/peat-node "$parent/charts/peat-node"

secret="peat-chart-test-$$"
key="$(head -c 32 /dev/urandom | base64 -w0)"
releases=(alpha bravo)
declare -A mesh_port=([alpha]=24461 [bravo]=24462) # podman publishes container ports on the host
manifests=()
cleanup() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)); then
    for r in "${releases[@]}"; do
      echo "---- $r peat-node log (last 30 lines)" >&2
      podman logs --tail 30 "$r-pod-0-peat-node" >&2 2>&1 || true
    done
  fi
  for m in "${manifests[@]}"; do podman kube down "$m" >/dev/null 2>&1 || true; done
  podman secret rm "$secret" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# The liveness probe is left out: podman 4.3 turns an exec probe into a CMD-SHELL healthcheck
# (/bin/sh, which the FROM scratch image does not have) that restarts the container when it fails.
# The readiness probe's command runs below, the way the kubelet runs it.
for r in "${releases[@]}"; do
  "$HELM" template "$r" "$parent" \
    --set "formationKey=$key" --set "app.image=$app_image" --set-json 'app.command=["/bin/sleep","infinity"]' \
    --set "peat-node.image.repository=${image%:*}" --set "peat-node.image.tag=${image##*:}" \
    --set "peat-node.nodeId=$r" --set "peat-node.sharedKeySecret.name=$secret" \
    --set "peat-node.mesh.port=${mesh_port[$r]}" --set "peat-node.probes.liveness.enabled=false" \
    >"$work/$r.rendered.yaml"
  node chart/test/podman-manifests.mjs "$work/$r.rendered.yaml" "$work/$r.yaml" "$work/secrets" | sed 's/^/  /'
  manifests+=("$work/$r.yaml")
done
# One formation Secret, as both releases render it (same name, same key).
podman secret rm "$secret" >/dev/null 2>&1 || true
podman secret create "$secret" "$work/secrets/$secret.json" >/dev/null
for r in "${releases[@]}"; do
  podman kube play --replace "$work/$r.yaml" >"$work/$r.play.log" 2>&1 || { cat "$work/$r.play.log" >&2; die "podman kube play $r"; }
  log "podman kube play $r: pod $r-pod-0 (app + peat-node)"
done

# Readiness: the chart's exec probe, run where the kubelet would run it.
for r in "${releases[@]}"; do
  deadline=$((SECONDS + 60))
  until podman exec "$r-pod-0-peat-node" /usr/bin/peat-node healthcheck --path /readyz >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$r: peat-node healthcheck --path /readyz never passed in 60 s"
    state="$(podman inspect "$r-pod-0-peat-node" --format '{{.State.Status}}')"
    [[ "$state" == running ]] || die "$r: the peat-node container is $state"
    sleep 0.2
  done
  log "$r: ready (peat-node healthcheck --path /readyz exit 0)"
  # The chart's securityContext, as podman applied it.
  uid="$(podman top "$r-pod-0-peat-node" huser | tail -1 | tr -d ' ')"
  [[ "$uid" == 65532 ]] || die "$r: peat-node runs as uid '$uid', not 65532"
  ro="$(podman inspect "$r-pod-0-peat-node" --format '{{.HostConfig.ReadonlyRootfs}}')"
  [[ "$ro" == true ]] || die "$r: the peat-node root filesystem is not read-only"
  log "$r: peat-node runs as uid $uid on a read-only root filesystem"
done

# rpc RELEASE METHOD JSON: a Connect call from the app container to its sidecar on 127.0.0.1:50051
# (bash's /dev/tcp, HTTP/1.1); prints the response body, fails on a status other than 200.
rpc() {
  podman exec "$1-pod-0-app" /bin/bash -c '
    exec 3<>/dev/tcp/127.0.0.1/50051 || exit 3
    printf "POST /peat.sidecar.v1.PeatSidecar/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" "$1" "${#2}" "$2" >&3
    IFS= read -r status <&3
    while IFS= read -r line <&3 && [[ "$line" != $'"'"'\r'"'"' ]]; do :; done
    body=$(/bin/cat <&3)
    [[ "$status" == "HTTP/1.1 200"* ]] || { echo "${status%$'"'"'\r'"'"'} $body" >&2; exit 4; }
    printf "%s\n" "$body"' _ "$2" "$3"
}
field() { node -e 'const o=JSON.parse(process.argv[1]); const v=o[process.argv[2]]; console.log(v === undefined ? "" : v)' "$1" "$2"; }

alpha_status="$(rpc alpha GetStatus '{}')" || die "alpha GetStatus"
bravo_status="$(rpc bravo GetStatus '{}')" || die "bravo GetStatus"
[[ "$(field "$alpha_status" nodeId)" == alpha ]] || die "alpha GetStatus nodeId: $alpha_status"
[[ "$(field "$bravo_status" nodeId)" == bravo ]] || die "bravo GetStatus nodeId: $bravo_status"
alpha_id="$(field "$alpha_status" endpointAddr)"
[[ "$alpha_id" =~ ^[0-9a-f]{64}$ ]] || die "alpha endpoint id: $alpha_status"
log "node ids: alpha (endpoint ${alpha_id:0:10}), bravo"

alpha_ip="$(podman inspect "$(podman pod inspect alpha-pod-0 --format '{{.InfraContainerID}}')" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' | awk '{print $1}')"
[[ -n "$alpha_ip" ]] || die "no IP for pod alpha-pod-0"
rpc bravo ConnectPeer "{\"endpointId\":\"$alpha_id\",\"addresses\":[\"$alpha_ip:${mesh_port[alpha]}\"]}" >/dev/null ||
  die "bravo ConnectPeer alpha at $alpha_ip:${mesh_port[alpha]}"
log "bravo ConnectPeer alpha at $alpha_ip:${mesh_port[alpha]} (pod IP, mesh port)"

# wait_doc RELEASE COLLECTION DOC_ID: poll GetDocument until it has jsonData (30 s).
wait_doc() {
  local deadline=$((SECONDS + 30)) out
  while ((SECONDS < deadline)); do
    out="$(rpc "$1" GetDocument "{\"collection\":\"$2\",\"docId\":\"$3\"}")" || die "$1 GetDocument $2/$3"
    [[ "$out" == *jsonData* ]] && { echo "$out"; return 0; }
    sleep 0.2
  done
  die "$2/$3 never reached $1 in 30 s"
}

rpc alpha PutNode '{"node":{"id":"alpha-agent","nodeType":"agent","name":"alpha agent","status":"NODE_STATUS_READY"}}' >/dev/null || die "alpha PutNode"
rpc alpha PutDocument '{"collection":"deployments","docId":"alpha-agent:nginx","jsonData":"{\"image\":\"nginx\",\"replicas\":2}"}' >/dev/null ||
  die "alpha PutDocument"
doc="$(wait_doc bravo deployments alpha-agent:nginx)"
[[ "$doc" == *'\"replicas\":2'* ]] || die "bravo has deployments/alpha-agent:nginx but not its content: $doc"
log "alpha -> bravo: deployments/alpha-agent:nginx $doc"
deadline=$((SECONDS + 30))
until [[ "$(rpc bravo GetNodes '{}')" == *alpha-agent* ]]; do
  ((SECONDS < deadline)) || die "alpha's PutNode never reached bravo's GetNodes"
  sleep 0.2
done
log "alpha -> bravo: PutNode alpha-agent visible in bravo's GetNodes"

rpc bravo PutDocument '{"collection":"deployments","docId":"bravo-agent:nginx","jsonData":"{\"image\":\"nginx\",\"replicas\":3}"}' >/dev/null ||
  die "bravo PutDocument"
doc="$(wait_doc alpha deployments bravo-agent:nginx)"
log "bravo -> alpha: deployments/bravo-agent:nginx $doc"

for r in "${releases[@]}"; do
  stats="$(rpc "$r" GetSyncStats '{}')" || die "$r GetSyncStats"
  sent="$(field "$stats" bytesSent)" received="$(field "$stats" bytesReceived)"
  ((${sent:-0} > 0 && ${received:-0} > 0)) || die "$r byte counters: $stats"
  log "$r: GetSyncStats $stats"
done
log "PASS: alpha and bravo (app + injected peat-node, image $image) formed a mesh and synced both ways in $((SECONDS - start)) s"
