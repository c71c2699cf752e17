#!/usr/bin/env bash
# Proves scripts/check-layers.sh can fail: on a copy of src/ and docs/ARCHITECTURE.md it must pass
# as the tree is, then fail (exit 1, naming file:line and both layers) on deliberate back-edges, and
# refuse (exit 2) a layer table that names a layer with no directory.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
check="$repo/scripts/check-layers.sh"
work="$(mktemp -d /tmp/peat-layers.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

fresh_copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree/docs"
  cp -r "$repo/src" "$work/tree/src"
  cp "$repo/docs/ARCHITECTURE.md" "$work/tree/docs/"
}


fresh_copy
expect "the tree as it is follows the layer order" 0 "every include follows the layer order"

# crdt is pure data: an include of the store is a back-edge.
sed -i '0,/^#include/s//#include "store\/document_store.h"\n#include/' "$work/tree/src/crdt/hlc.h"
line="$(grep -n '#include "store/document_store.h"' "$work/tree/src/crdt/hlc.h" | cut -d: -f1)"
expect "crdt including store is refused" 1 "src/crdt/hlc.h:$line: crdt includes store/"

fresh_copy
printf '#include "service/sidecar_service.h"\n' >>"$work/tree/src/mesh/backoff.cc"
expect "mesh including service is refused" 1 "src/mesh/backoff.cc"

fresh_copy
printf '#include "peat/sidecar/v1/sidecar.pb.h"\n' >>"$work/tree/src/rpc/envelope.cc"
expect "rpc including generated protos is refused" 1 "rpc includes peat/"

fresh_copy
printf '#include "app/config.h"\n' >>"$work/tree/src/common/status.cc"
expect "common including app is refused" 1 "common includes app/"

# The service reaches the mesh only through common/peer_control.h; app none at all.
fresh_copy
printf '#include "mesh/mesh.h"\n' >>"$work/tree/src/service/peer_service.cc"
expect "service including mesh is refused" 1 "service includes mesh/"
fresh_copy
printf '#include "mesh/mesh.h"\n' >>"$work/tree/src/app/config.cc"
expect "app including mesh is refused" 1 "app includes mesh/"

fresh_copy
sed -i 's/^| `crdt` | common |$/| `crdt` | common |\n| `ghost` | store, common |/' "$work/tree/docs/ARCHITECTURE.md"
expect "a table row for a layer without a directory is refused" 2 "src/ghost/ does not exist"

fresh_copy
mkdir -p "$work/tree/src/extra" && printf '#pragma once\n' >"$work/tree/src/extra/x.h"
expect "a directory missing from the table is refused" 1 "src/extra/ is not in the layer table"

finish
