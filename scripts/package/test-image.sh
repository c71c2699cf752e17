#!/usr/bin/env bash
# `make package-test-image` (part of make test-package): the built image, run for real by podman
# (PACKAGING.md §5). Needs `make image` first (the make target depends on it).
#   - the image config as built (docker format): user 65532, HEALTHCHECK through the binary,
#     entrypoint/cmd, ports, volume, labels; its size;
#   - `podman run --read-only` with the image's default command, API published on 127.0.0.1, the
#     mesh on the documented port 4433 with a formation key: `podman healthcheck run` passes, a
#     real RPC answers (Connect JSON GetStatus with curl), /metrics is served;
#   - `podman stop` (SIGTERM to the node as PID 1) -> exit code 0 within the grace period.
#
#   scripts/package/test-image.sh         PEAT_IMAGE=other:tag to test another image
set -euo pipefail
log_prefix=test-image
# shellcheck source=scripts/package/image-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/image-lib.sh"

image="${PEAT_IMAGE:-$image}"
ensure_packages podman runc jq curl
podman_cmd image exists "$image" || die "$image not found: run make image first"
start=$SECONDS

# --- the image config, as podman built it ---------------------------------------------------------
inspect="$(podman_cmd image inspect "$image")"
expect() { # expect JQ_FILTER EXPECTED_JSON
  local got
  got="$(jq -c ".[0] | $1" <<<"$inspect")"
  [[ $got == "$2" ]] || die "image $1: want $2, got $got"
}
expect .Config.User '"65532:65532"'
expect .Config.Entrypoint '["/usr/bin/peat-node"]'
expect .Config.Cmd '["--listen=tcp://0.0.0.0:50051","--data-dir=/data/peat-node"]'
expect .Config.StopSignal '"SIGTERM"'
expect '.Config.ExposedPorts | keys' '["4433/tcp","50051/tcp"]'
expect '.Config.Volumes | keys' '["/data/peat-node"]'
expect '.Config.Labels["org.opencontainers.image.version"]' "\"$version\""
expect '.Healthcheck.Test // .Config.Healthcheck.Test' '["CMD","/usr/bin/peat-node","healthcheck"]'
size="$(jq '.[0].Size' <<<"$inspect")"
log "image config: user 65532:65532, HEALTHCHECK [peat-node healthcheck], entrypoint/cmd, ports, volume, labels; size $size bytes ($((size / 1024)) KiB)"

# --- run it ---------------------------------------------------------------------------------------
name="peat-node-test-$$"
# podman without systemd logs an error about healthcheck timers on run and rm: kept out of sight.
podman_err="$(mktemp)"
cleanup() {
  podman_cmd rm -f -v -t 0 "$name" >/dev/null 2>&1 || true
  rm -f "$podman_err"
}
trap cleanup EXIT
key="$(head -c 32 /dev/urandom | base64)"
# No periodic healthcheck timer: podman schedules those with systemd, which these machines do not
# run as PID 1; `podman healthcheck run` below execs the image's HEALTHCHECK all the same.
podman_cmd run -d --name "$name" --read-only --health-interval disable \
  -p 127.0.0.1::50051 -p 127.0.0.1::4433 \
  -e PEAT_NODE_SHARED_KEY="$key" -e PEAT_NODE_MESH_LISTEN=tcp://0.0.0.0:4433 \
  "$image" >/dev/null 2>"$podman_err" || { cat "$podman_err" >&2; die "podman run failed"; }
api_port="$(podman_cmd port "$name" 50051/tcp | sed 's/.*://')"
mesh_port="$(podman_cmd port "$name" 4433/tcp | sed 's/.*://')"
log "running $name: API on 127.0.0.1:$api_port, mesh on 127.0.0.1:$mesh_port"

# Healthy within 30 s: `podman healthcheck run` execs the image's HEALTHCHECK in the container.
deadline=$((SECONDS + 30))
until podman_cmd healthcheck run "$name" >/dev/null 2>&1; do
  if ((SECONDS >= deadline)) || [[ $(podman_cmd inspect -f '{{.State.Running}}' "$name") != true ]]; then
    podman_cmd logs "$name" >&2 || true
    die "podman healthcheck run never passed"
  fi
  sleep 0.5
done
log "podman healthcheck run: healthy"
# The node runs as 65532 (peat), as PID 1 of the container (no init, no shell).
top="$(podman_cmd top "$name" huser pid args | awk 'NR > 1 { print $1, $2, $3 }')"
[[ $top == "65532 1 /usr/bin/peat-node" ]] || die "podman top: want '65532 1 /usr/bin/peat-node', got '$top'"
log "podman top: /usr/bin/peat-node is PID 1 as uid 65532, the only process"

# A real RPC over the published port, and the ops endpoints.
status="$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d '{}' \
  "http://127.0.0.1:$api_port/peat.sidecar.v1.PeatSidecar/GetStatus")"
jq -e '.nodeId | length > 0' <<<"$status" >/dev/null || die "GetStatus answered: $status"
curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/metrics" | grep -qx 200 ||
  die "/metrics is not 200"
log "GetStatus over Connect JSON: node $(jq -r .nodeId <<<"$status"); /metrics 200"
logs="$(podman_cmd logs "$name" 2>&1)"
grep -q 'mesh listening on tcp://0.0.0.0:4433' <<<"$logs" ||
  { podman_cmd logs "$name" >&2; die "the mesh does not listen on 0.0.0.0:4433"; }
(exec 3<>"/dev/tcp/127.0.0.1/$mesh_port") 2>/dev/null || die "the mesh port 127.0.0.1:$mesh_port does not accept connections"
log "mesh: listening on 0.0.0.0:4433 in the container (formation key from the environment), published port accepts"

# --- stop: SIGTERM to PID 1, exit 0 within the grace ----------------------------------------------
t0=$SECONDS
podman_cmd stop -t 15 "$name" >/dev/null 2>"$podman_err" || { cat "$podman_err" >&2; die "podman stop failed"; }
took=$((SECONDS - t0))
code="$(podman_cmd inspect -f '{{.State.ExitCode}}' "$name")"
[[ $code == 0 ]] || { podman_cmd logs "$name" >&2; die "podman stop: exit code $code (want 0)"; }
((took <= 12)) || die "podman stop took $took s (grace 10 s)"
logs="$(podman_cmd logs "$name" 2>&1)"
grep -q 'received SIGTERM' <<<"$logs" || die "the node did not log SIGTERM"
log "podman stop: SIGTERM -> exit code 0 in ${took} s"
log "PASS in $((SECONDS - start)) s"
