#!/usr/bin/env bash
# Scenario: the README's `make run` starts a node that serves the API on 127.0.0.1:50051 with its
# store in the data dir, answers GetStatus over Connect JSON, and stops cleanly (exit 0) on SIGINT
# with the same identity after a restart.
set -euo pipefail
cd "$(dirname "$0")/.."

port=50051
url="http://127.0.0.1:$port"
data=$(mktemp -d /tmp/peat-quickstart.XXXXXX)
log="$data/run.log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- -"$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "quickstart: FAIL: port $port is already in use; this scenario needs it free" >&2
  exit 1
fi

start_node() {
  # setsid: own process group, so the whole `make run` tree can be signalled together.
  setsid make --no-print-directory run DATA_DIR="$data/store" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do  # up to 60 s (make run may have to build first)
    if curl -sf "$url/readyz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "quickstart: FAIL: make run exited"; cat "$log"; exit 1; }
    sleep 0.1
  done
  echo "quickstart: FAIL: not ready on $url within 60 s"; cat "$log"; exit 1
}

stop_node() {
  local node_pid
  node_pid=$(pgrep -f -- "peat-node --listen tcp://127.0.0.1:$port" | head -1)
  [ -n "$node_pid" ] || { echo "quickstart: FAIL: peat-node process not found"; exit 1; }
  kill -INT "$node_pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" -eq 0 ] || { echo "quickstart: FAIL: make run exited $rc after SIGINT"; cat "$log"; exit 1; }
}

start_node
status=$(curl -sS -H 'Content-Type: application/json' -d '{}' \
  "$url/peat.sidecar.v1.PeatSidecar/GetStatus")
echo "quickstart: GetStatus -> $status"
endpoint=$(jq -r .endpointAddr <<<"$status")
node_id=$(jq -r .nodeId <<<"$status")
[[ "$endpoint" =~ ^[0-9a-f]{64}$ ]] || { echo "quickstart: FAIL: endpointAddr '$endpoint'"; exit 1; }
# --auto-sync defaults to true: a ready node with sync active reports SYNCING.
[ "$(jq -r .phase <<<"$status")" = "NODE_PHASE_SYNCING" ] || { echo "quickstart: FAIL: phase"; exit 1; }
[ -s "$data/store/identity.key" ] || { echo "quickstart: FAIL: no identity in the data dir"; exit 1; }
stop_node

start_node
again=$(curl -sS -H 'Content-Type: application/json' -d '{}' \
  "$url/peat.sidecar.v1.PeatSidecar/GetStatus")
[ "$(jq -r .endpointAddr <<<"$again")" = "$endpoint" ] || { echo "quickstart: FAIL: endpoint changed across restart"; exit 1; }
[ "$(jq -r .nodeId <<<"$again")" = "$node_id" ] || { echo "quickstart: FAIL: node id changed across restart"; exit 1; }
stop_node
echo "quickstart: PASS (served on $url, identity stable across restart, clean exit on SIGINT)"
