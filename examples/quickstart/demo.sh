#!/usr/bin/env bash
# Shows replication both ways, through the API only:
#   1. PutDocument on alpha, then GetDocument on bravo until the new version is there (≤ 10 s)
#   2. the same from bravo to alpha
#   3. GetSyncStats from both (bytes sent and received must be > 0)
# Every run writes a fresh value (a per-run nonce), so a rerun measures a new round trip.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_tools curl jq
load_config

collection=quickstart
nonce="$(now_us)-$$"

for node in alpha bravo; do
  status=$(rpc "$node" GetStatus)
  [ "$(jq -r '.syncActive // false' <<<"$status")" = true ] ||
    die "sync is off on $node: run ./bootstrap.sh first (it calls StartSync on bravo)"
  [ "$(jq -r '.connectedPeers // 0' <<<"$status")" -ge 1 ] ||
    die "$node has no connected peer: run ./bootstrap.sh first (it calls ConnectPeer on bravo)"
done

# replicate FROM TO: write a document on FROM, poll TO until it holds this run's version. The
# time printed runs from the PutDocument call to the GetDocument answer that has the new version,
# so it includes the curl start-ups (a few ms each); the loop forks nothing else.
replicate() {
  local from=$1 to=$2 doc_id="hello-from-$1" doc put_body get_body get_url start got code elapsed
  local polls=0 deadline
  doc=$(jq -nc --arg from "$from" --arg nonce "$nonce" --arg at "$(date -u +%FT%T.%3NZ)" \
    '{message: ("hello from " + $from), writtenBy: $from, writtenAt: $at, nonce: $nonce}')
  put_body=$(jq -nc --arg c "$collection" --arg id "$doc_id" --arg data "$doc" \
    '{collection: $c, docId: $id, jsonData: $data}')
  get_body=$(jq -nc --arg c "$collection" --arg id "$doc_id" '{collection: $c, docId: $id}')
  get_url="$(api_base "$to")/peat.sidecar.v1.PeatSidecar/GetDocument"
  say "$from: PutDocument $put_body"
  start=$(now_us)
  deadline=$((start + QS_SYNC_TIMEOUT * 1000000))
  rpc "$from" PutDocument "$put_body" >/dev/null
  while :; do
    polls=$((polls + 1))
    got=$(curl -sS --max-time 5 -H 'Content-Type: application/json' -d "$get_body" \
      -w '\n%{http_code}' "$get_url") || die "GetDocument on $to ($get_url) failed"
    code=${got##*$'\n'}
    got=${got%$'\n'*}
    [ "$code" = 200 ] || die "GetDocument on $to failed: HTTP $code $got"
    # GetDocument answers {} while the document does not exist; the nonce is digits and '-', so
    # it appears verbatim inside the escaped jsonData string once this run's version is there.
    [[ "$got" == *"\\\"nonce\\\":\\\"$nonce\\\""* ]] && break
    if [ "$(now_us)" -ge "$deadline" ]; then
      log_tail "$from"
      log_tail "$to"
      die "$collection/$doc_id written on $from did not reach $to within ${QS_SYNC_TIMEOUT} s (last GetDocument on $to: $got)"
    fi
    sleep 0.002
  done
  elapsed=$(($(now_us) - start))
  say "$to: GetDocument $get_body -> $got"
  printf '%s: arrived on %s %d.%03d ms after the write (GetDocument polls: %d)\n' "$QS_PROG" "$to" \
    $((elapsed / 1000)) $((elapsed % 1000)) "$polls"
}

replicate alpha bravo
replicate bravo alpha

for node in alpha bravo; do
  stats=$(rpc "$node" GetSyncStats)
  say "$node: GetSyncStats $stats"
  jq -e '(.bytesSent // "0" | tonumber) > 0 and (.bytesReceived // "0" | tonumber) > 0' \
    <<<"$stats" >/dev/null || die "$node's byte counters are not both > 0: $stats"
done
say "OK: documents replicated both ways; both nodes sent and received mesh bytes"
