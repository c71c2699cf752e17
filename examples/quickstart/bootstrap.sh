#!/usr/bin/env bash
# Joins the two nodes start.sh started into a mesh, through the API only:
#   1. wait until both answer /readyz with 200
#   2. read alpha's endpoint id (GetStatus -> endpointAddr)
#   3. ConnectPeer on bravo: alpha's id + alpha's mesh address (bravo dials alpha; TLS, both
#      sides prove the shared key; the peer is persisted and redialed after restarts)
#   4. StartSync on bravo (it runs with --auto-sync false, so until now nothing replicates)
#   5. wait until each side lists the other as connected, then print ListPeers from both
# Idempotent: running it again re-issues the same ConnectPeer/StartSync, which change nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_tools curl jq
load_config

say "waiting for /readyz on alpha ($(api_base alpha)) and bravo ($(api_base bravo))"
wait_ready alpha bravo

alpha_status=$(rpc alpha GetStatus)
bravo_status=$(rpc bravo GetStatus)
alpha_id=$(jq -r '.endpointAddr // empty' <<<"$alpha_status")
bravo_id=$(jq -r '.endpointAddr // empty' <<<"$bravo_status")
[[ "$alpha_id" =~ ^[0-9a-f]{64}$ ]] || die "alpha's GetStatus has no endpointAddr: $alpha_status"
[[ "$bravo_id" =~ ^[0-9a-f]{64}$ ]] || die "bravo's GetStatus has no endpointAddr: $bravo_status"
say "alpha's endpoint id: $alpha_id"
say "bravo's endpoint id: $bravo_id"

request=$(jq -nc --arg id "$alpha_id" --arg addr "$(mesh_addr alpha)" \
  '{endpointId: $id, addresses: [$addr]}')
say "bravo: ConnectPeer $request"
rpc bravo ConnectPeer "$request" >/dev/null

say "bravo: StartSync"
rpc bravo StartSync >/dev/null

# connected NODE PEER_ID: NODE's ListPeers has PEER_ID with connected = true.
connected() {
  rpc "$1" ListPeers | jq -e --arg id "$2" 'any(.peers[]?; .endpointId == $id and .connected)' >/dev/null
}
deadline=$(($(now_ms) + QS_SYNC_TIMEOUT * 1000))
until connected bravo "$alpha_id" && connected alpha "$bravo_id"; do
  if [ "$(now_ms)" -ge "$deadline" ]; then
    log_tail alpha
    log_tail bravo
    die "alpha and bravo are not connected to each other after ${QS_SYNC_TIMEOUT} s (logs: $QS_DATA/*.log)"
  fi
  sleep 0.1
done

for node in alpha bravo; do
  say "$node: ListPeers"
  rpc "$node" ListPeers | jq .
done
say "$(jq -c '{syncActive, connectedPeers}' <<<"$(rpc bravo GetStatus)") on bravo; next: $QS_DIR/demo.sh"
