#!/usr/bin/env bash
# Enforces the layer order of docs/ARCHITECTURE.md: every `#include "<dir>/…"` in src/<layer>/
# must name the layer itself or a layer the "May include" table (between the layer-rules markers)
# allows. Generated protobuf headers (`peat/…`, `grpc/…`) count as the pseudo-layer `proto`.
# Includes of directories that are neither layers nor generated code are not judged here.
#
#   scripts/check-layers.sh [ROOT]    ROOT (default: the repo) holds src/ and docs/ARCHITECTURE.md
#
# Exit 0 when every include is allowed; 1 with one line per back-edge otherwise; 2 when the table
# is missing or names an unknown layer.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
doc="$root/docs/ARCHITECTURE.md"
[[ -f $doc ]] || { echo "check-layers: $doc not found" >&2; exit 2; }

declare -A allowed=()
while IFS='|' read -r _ layer uses _; do
  layer="$(echo "$layer" | tr -d '` ')"
  uses="$(echo "$uses" | tr -d ' ')"
  [[ -z $layer || $layer == Layer || $layer == ---* ]] && continue
  [[ $uses == "—" ]] && uses=""
  allowed[$layer]=",$uses,"
done < <(sed -n '/<!-- layer-rules: begin -->/,/<!-- layer-rules: end -->/p' "$doc" | grep '^|')

((${#allowed[@]} > 0)) || { echo "check-layers: no layer-rules table in $doc" >&2; exit 2; }
for layer in "${!allowed[@]}"; do
  [[ -d $root/src/$layer ]] || { echo "check-layers: table names layer '$layer' but src/$layer/ does not exist" >&2; exit 2; }
  for used in $(echo "${allowed[$layer]}" | tr ',' ' '); do
    [[ $used == proto || -n ${allowed[$used]+x} ]] ||
      { echo "check-layers: layer '$layer' may include unknown layer '$used'" >&2; exit 2; }
  done
done

# One pass: "file:line:dir" for every quoted include of a top-level directory, judged in awk.
rules=""
for layer in "${!allowed[@]}"; do rules+="$layer=${allowed[$layer]};"; done
mapfile -t sources < <(cd "$root" && find src -type f \( -name '*.h' -o -name '*.cc' \) | sort)
files=${#sources[@]}
report="$(
  cd "$root"
  {
    printf '%s\n' "${sources[@]}" | sed 's/^/FILE:/'
    grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[A-Za-z0-9_]+/' "${sources[@]}" |
      sed -E 's/^([^:]+):([0-9]+):.*"([A-Za-z0-9_]+)\/$/INC:\1:\2:\3/'
  } | awk -v rules="$rules" '
    BEGIN {
      n = split(rules, r, ";")
      for (i = 1; i <= n; i++) if (r[i] != "") { split(r[i], kv, "="); may[kv[1]] = kv[2] }
    }
    function layer_of(path,   parts) { split(path, parts, "/"); return parts[2] }
    /^FILE:/ {
      f = substr($0, 6); l = layer_of(f)
      if (!(l in may)) print f ": src/" l "/ is not in the layer table of docs/ARCHITECTURE.md"
      next
    }
    /^INC:/ {
      split(substr($0, 5), p, ":"); f = p[1]; line = p[2]; dir = p[3]; l = layer_of(f)
      if (!(l in may)) next
      target = (dir == "peat" || dir == "grpc") ? "proto" : dir
      if (target == l) next
      if (target != "proto" && !(target in may)) next   # not a layer: not judged
      if (index(may[l], "," target ",") == 0) {
        allowed_list = may[l]; gsub(",", " ", allowed_list); sub(/ +$/, "", allowed_list)
        print f ":" line ": " l " includes " dir "/ (docs/ARCHITECTURE.md: " l " may include:" allowed_list ")"
      }
    }'
)"
violations=0
if [[ -n $report ]]; then
  echo "$report"
  violations=$(echo "$report" | wc -l)
fi

if ((violations > 0)); then
  echo "check-layers: $violations include(s) against the layer order in $files files" >&2
  exit 1
fi
echo "check-layers: $files files, every include follows the layer order of docs/ARCHITECTURE.md"
