#!/usr/bin/env bash
# Sends a file from alpha to bravo over the mesh, through the API only:
#   1. writes a fresh file into alpha's attachment root (.data/alpha-files, root name "files")
#   2. SendAttachments on alpha to bravo (scope node_list ["bravo"]: a peer's --node-id works)
#   3. GetAttachmentDistribution on alpha until COMPLETED (≤ 30 s)
#   4. checks the copy in bravo's inbox (.data/bravo-inbox) byte for byte (SHA-256)
# Every run sends new content, so a rerun is a new distribution.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_tools curl jq sha256sum base64
load_config

name="hello-$(now_us).txt"
src=$QS_DATA/alpha-files/$name
printf 'hello from alpha at %s\n' "$(date -u +%FT%T.%3NZ)" >"$src"
size=$(stat -c %s "$src")
sha_hex=$(sha256sum "$src" | cut -d' ' -f1)
# bytes fields are base64 in JSON: the 32 raw bytes of the digest, from its hex
sha_b64=$(printf "$(sed 's/../\\x&/g' <<<"$sha_hex")" | base64 -w0)

body=$(jq -nc --arg path "$name" --argjson size "$size" --arg sha "$sha_b64" \
  '{files: [{rootName: "files", relativePath: $path, sizeBytes: $size, sha256: $sha}],
    scope: {nodeList: {nodeIds: ["bravo"]}}, priority: "ATTACHMENT_PRIORITY_ROUTINE"}')
say "alpha: SendAttachments $body"
sent=$(rpc alpha SendAttachments "$body")
say "alpha: -> $sent"
dist=$(jq -r '.handles[0].distributionId' <<<"$sent")

deadline=$(($(now_us) + 30 * 1000000))
while :; do
  state=$(rpc alpha GetAttachmentDistribution "$(jq -nc --arg id "$dist" '{distributionId: $id}')")
  status=$(jq -r '.status' <<<"$state")
  [ "$status" = DISTRIBUTION_STATUS_COMPLETED ] && break
  case $status in *FAILED | *CANCELLED | *PARTIAL) die "distribution $dist ended $status: $state" ;; esac
  if [ "$(now_us)" -ge "$deadline" ]; then
    log_tail alpha
    log_tail bravo
    die "distribution $dist not COMPLETED within 30 s (last: $state)"
  fi
  sleep 0.05
done
say "alpha: GetAttachmentDistribution -> $state"

copy=$QS_DATA/bravo-inbox/$name
[ -f "$copy" ] || die "COMPLETED, but $copy is missing"
[ "$(sha256sum "$copy" | cut -d' ' -f1)" = "$sha_hex" ] || die "$copy differs from $src"
printf '%s: %s appeared in bravo'"'"'s inbox (%s), byte-identical\n' "$QS_PROG" "$name" "$copy"
