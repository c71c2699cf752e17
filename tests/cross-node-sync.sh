#!/usr/bin/env bash
# Scenario: the original's cross-cluster functional test, on two network-namespace hosts joined by
# an emulated link (tests/net/hosts.sh): nodes alpha-agent and bravo-agent, each peat-node inside
# its own host with its API on tcp://<host>:50051 and its mesh on tcp://<host>:4433, one formation
# (same --app-id and --shared-key). Everything goes through curl + jq (Connect JSON), run inside
# the hosts:
#   1. both answer /readyz; alpha's endpoint id from its GetStatus (= derive-id of its key/name)
#   2. bravo: ConnectPeer {alpha's endpoint id, 10.77.0.1:4433}; both list the other as connected
#   3. PutNode on alpha → the same node in GetNodes on bravo
#   4. PutDocument deployments/alpha-agent:nginx on alpha → the same canonical JSON on bravo
#   5. the reverse: PutNode + PutDocument deployments/bravo-agent:redis on bravo → on alpha
#   6. GetSyncStats on both: bytes sent and received > 0; the emulator carried bytes both ways
# Every wait polls with a deadline. Root only (namespaces, TUN): exits 77 (CTest: skipped)
# otherwise. The hosts, the emulator and every process inside the hosts are removed on any exit
# (the harness's EXIT trap); logs are printed on failure.
# Environment: PEAT_NODE_BIN (default build/peat-node), CROSS_NODE_LINK (link settings for
# peatnet_set, default "delay_ms=50 loss=0.01": 100 ms RTT, 1 % loss each way),
# CROSS_NODE_TIMEOUT_S (per wait, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."

name=cross-node-sync
fail() {
  echo "$name: FAIL: $*" >&2
  exit 1
}
if [[ $(id -u) != 0 ]]; then
  echo "$name: SKIP: root only (network namespaces and TUN devices; CI runs as root)"
  exit 77
fi
for tool in curl jq ip; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/install-deps.sh)"
done
BIN=$(realpath "${PEAT_NODE_BIN:-build/peat-node}")
[[ -x $BIN ]] || fail "$BIN not built (make build)"
LINK=${CROSS_NODE_LINK:-delay_ms=50 loss=0.01}
TIMEOUT_S=${CROSS_NODE_TIMEOUT_S:-30}

export PEATNET_ID=${PEATNET_ID:-xnode} # its own instance: runs beside other users of tests/net
# shellcheck source=tests/net/hosts.sh
source tests/net/hosts.sh

TMP=$(mktemp -d /tmp/peat-cross-node.XXXXXX)
declare -A PID
finished=false
# stop_nodes: SIGTERM to every node still running, SIGKILL after 10 s; their exit codes go to
# STOPPED ("alpha=0 bravo=0 ").
STOPPED=
stop_nodes() {
  local host rc deadline=$((SECONDS + 10))
  for host in "${!PID[@]}"; do kill -TERM "${PID[$host]}" 2>/dev/null || true; done
  for host in "${!PID[@]}"; do
    while kill -0 "${PID[$host]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "${PID[$host]}" 2>/dev/null || true
    rc=0
    wait "${PID[$host]}" 2>/dev/null || rc=$?
    STOPPED+="$host=$rc "
    unset "PID[$host]"
  done
}
on_exit() {
  stop_nodes
  if ! $finished; then
    for log in "$TMP"/*.log; do
      [[ -f $log ]] || continue
      echo "--- $log (last 40 lines) ---"
      tail -n 40 "$log"
    done
  fi
  peatnet_down # the emulator, the hosts and anything still running inside them
  rm -rf "$TMP"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PEATNET_TRAP=0 peatnet_up alpha bravo
# shellcheck disable=SC2086 # LINK is a list of key=value words
peatnet_set alpha bravo $LINK
echo "$name: hosts alpha ($(peatnet_addr alpha)) and bravo ($(peatnet_addr bravo)), link: $LINK each way"

KEY=$(head -c 32 /dev/urandom | base64)
APP=cross-node-sync-$$

# start HOST NODE_ID: peat-node inside HOST (API and mesh on the host's address), log in $TMP.
start() {
  local host=$1 id=$2 addr
  addr=$(peatnet_addr "$host")
  ip netns exec "$(peatnet_ns "$host")" "$BIN" --node-id "$id" --app-id "$APP" --shared-key "$KEY" \
    --listen "tcp://$addr:50051" --mesh-listen "tcp://$addr:4433" --data-dir "$TMP/$host" \
    --log-format text --disable-mdns >"$TMP/$host.log" 2>&1 &
  PID[$host]=$!
}

# rpc HOST METHOD [JSON]: Connect unary call from inside HOST; prints the body, fails unless 200.
rpc() {
  local host=$1 method=$2 body=${3:-'{}'} out code
  out=$(peatnet_exec "$host" curl -sS --max-time 10 -H 'Content-Type: application/json' \
    -d "$body" -w '\n%{http_code}' \
    "http://$(peatnet_addr "$host"):50051/peat.sidecar.v1.PeatSidecar/$method") ||
    fail "$method on $host: curl failed: $out"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ $code == 200 ]] || fail "$method on $host: HTTP $code $out"
  printf '%s\n' "$out"
}

# until_true WHAT CMD...: runs CMD every 50 ms until it succeeds; fails after TIMEOUT_S.
until_true() {
  local what=$1 deadline=$((SECONDS + TIMEOUT_S)) host
  shift
  until "$@"; do
    for host in "${!PID[@]}"; do
      kill -0 "${PID[$host]}" 2>/dev/null || fail "peat-node on $host exited (waiting for $what)"
    done
    ((SECONDS < deadline)) || fail "not within $TIMEOUT_S s: $what"
    sleep 0.05
  done
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
ready() { peatnet_exec "$1" curl -sf --max-time 2 "http://$(peatnet_addr "$1"):50051/readyz" >/dev/null 2>&1; }
# connected HOST PEER_ID: HOST's ListPeers shows PEER_ID connected.
connected() { rpc "$1" ListPeers | jq -e --arg id "$2" 'any(.peers[]?; .endpointId == $id and .connected)' >/dev/null; }
# same_node FROM TO ID: GetNodes on TO has node ID exactly as GetNodes on FROM has it.
node_of() { rpc "$1" GetNodes | jq -cS --arg id "$2" '.nodes[]? | select(.id == $id)'; }
same_node() { [[ -n $(node_of "$2" "$3") && $(node_of "$2" "$3") == "$(node_of "$1" "$3")" ]]; }
# same_doc FROM TO COLLECTION DOC_ID: TO holds the document with FROM's canonical JSON.
doc_of() { rpc "$1" GetDocument "$(jq -nc --arg c "$2" --arg id "$3" '{collection: $c, docId: $id}')" | jq -r '.jsonData // empty'; }
same_doc() { [[ -n $(doc_of "$2" "$3" "$4") && $(doc_of "$2" "$3" "$4") == "$(doc_of "$1" "$3" "$4")" ]]; }

# replicate FROM TO NODE_ID DOC_ID DOC_JSON: PutNode + PutDocument (collection "deployments") on
# FROM, then poll TO until both are there, identical.
replicate() {
  local from=$1 to=$2 node_id=$3 doc_id=$4 doc=$5 t0
  t0=$(now_ms)
  rpc "$from" PutNode "$(jq -nc --arg id "$node_id" --arg host "$from" '{node: {id: $id, nodeType: "agent",
    name: $id, status: "NODE_STATUS_READY", latitude: 59.33, longitude: 18.07, readiness: 0.9,
    capabilities: ["deployments", "metrics"], callsign: ($host | ascii_upcase)}}')" >/dev/null
  rpc "$from" PutDocument "$(jq -nc --arg id "$doc_id" --arg data "$doc" \
    '{collection: "deployments", docId: $id, jsonData: $data}')" >/dev/null
  until_true "node $node_id (PutNode on $from) in GetNodes on $to" same_node "$from" "$to" "$node_id"
  echo "$name: $to: GetNodes has $(node_of "$to" "$node_id")"
  until_true "deployments/$doc_id (written on $from) on $to" same_doc "$from" "$to" deployments "$doc_id"
  echo "$name: $to: GetDocument deployments/$doc_id -> $(doc_of "$to" deployments "$doc_id") ($(($(now_ms) - t0)) ms after the writes)"
}

start alpha alpha-agent
start bravo bravo-agent
until_true "alpha answers /readyz" ready alpha
until_true "bravo answers /readyz" ready bravo

alpha_id=$(rpc alpha GetStatus | jq -r '.endpointAddr // empty')
bravo_id=$(rpc bravo GetStatus | jq -r '.endpointAddr // empty')
[[ $alpha_id =~ ^[0-9a-f]{64}$ && $bravo_id =~ ^[0-9a-f]{64}$ ]] || fail "endpoint ids: '$alpha_id' '$bravo_id'"
[[ $alpha_id == "$("$BIN" derive-id --shared-key "$KEY" --node-id alpha-agent)" ]] ||
  fail "alpha's endpoint id $alpha_id is not derive-id of its key and node id"
echo "$name: alpha-agent is $alpha_id, bravo-agent is $bravo_id"

rpc bravo ConnectPeer "$(jq -nc --arg id "$alpha_id" --arg addr "$(peatnet_addr alpha):4433" \
  '{endpointId: $id, addresses: [$addr]}')" >/dev/null
until_true "bravo lists alpha connected" connected bravo "$alpha_id"
until_true "alpha lists bravo connected" connected alpha "$bravo_id"
echo "$name: bravo dialed alpha at $(peatnet_addr alpha):4433; connected both ways"

replicate alpha bravo alpha-agent alpha-agent:nginx \
  '{"agent":"alpha-agent","image":"nginx:1.27","replicas":3,"ports":[80,443],"status":"running"}'
replicate bravo alpha bravo-agent bravo-agent:redis \
  '{"agent":"bravo-agent","image":"redis:7.4","replicas":1,"ports":[6379],"status":"running"}'

for host in alpha bravo; do
  stats=$(rpc "$host" GetSyncStats)
  echo "$name: $host: GetSyncStats $stats"
  jq -e '(.bytesSent // "0" | tonumber) > 0 and (.bytesReceived // "0" | tonumber) > 0' <<<"$stats" >/dev/null ||
    fail "$host's byte counters are not both > 0: $stats"
done
for dir in "alpha bravo" "bravo alpha"; do
  # shellcheck disable=SC2086 # two words: the link's ends
  bytes=$(peatnet_stats $dir | jq '.links[0].out_bytes')
  ((bytes > 0)) || fail "the emulated link ${dir/ / -> } carried no bytes"
  echo "$name: emulated link ${dir/ / -> }: $bytes bytes delivered"
done
stop_nodes
[[ $STOPPED == *"alpha=0 "* && $STOPPED == *"bravo=0 "* ]] || fail "nodes did not exit cleanly on SIGTERM: $STOPPED"
finished=true
echo "$name: PASS (ConnectPeer by address across hosts; PutNode + deployments docs replicated both ways; byte counters > 0)"
