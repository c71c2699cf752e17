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

violations=0
files=0
while IFS= read -r file; do
  files=$((files + 1))
  rel="${file#"$root"/}"
  layer="${rel#src/}"
  layer="${layer%%/*}"
  if [[ -z ${allowed[$layer]+x} ]]; then
    echo "$rel: src/$layer/ is not in the layer table of docs/ARCHITECTURE.md"
    violations=$((violations + 1))
    continue
  fi
  while IFS=: read -r line dir; do
    target="$dir"
    [[ $dir == peat || $dir == grpc ]] && target=proto
    [[ $target == "$layer" ]] && continue
    [[ $target == proto || -n ${allowed[$target]+x} ]] || continue  # not a layer: not judged
    if [[ ${allowed[$layer]} != *",$target,"* ]]; then
      echo "$rel:$line: $layer includes $dir/ (docs/ARCHITECTURE.md: $layer may include:$(echo "${allowed[$layer]}" | tr ',' ' ' | sed 's/ *$//'))"
      violations=$((violations + 1))
    fi
  done < <(grep -noE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[A-Za-z0-9_]+/' "$file" |
           sed -E 's/^([0-9]+):.*"([A-Za-z0-9_]+)\/$/\1:\2/')
done < <(find "$root/src" -type f \( -name '*.h' -o -name '*.cc' \) | sort)

if ((violations > 0)); then
  echo "check-layers: $violations include(s) against the layer order in $files files" >&2
  exit 1
fi
echo "check-layers: $files files, every include follows the layer order of docs/ARCHITECTURE.md"
