#!/usr/bin/env bash
# B3, B4, B5: the mesh, measured next to an automerge-repo anchor in the SAME run.
#
#   bash bench/mesh.sh            (or: make bench-mesh)
#
# Every scenario starts two fresh peat-node processes on 127.0.0.1 (build/peat-node or $PEAT_NODE;
# the harness of tests/integration/lib/mesh_cluster.mjs: one formation, static --peer, temporary
# data dirs) through bench/mesh/peat_mesh.mjs:
#   - B3: 1,000 and 10,000 documents (~300 B JSON) written on A until all are readable on B (B's
#     Subscribe stream is the clock): time, docs/s, mesh bytes both ways (GetSyncStats) / raw JSON;
#   - B4: B stopped (SIGTERM) while A takes 100,000 updates to 10,000 documents; B restarted: time
#     and bytes until B holds the final state, vs the raw JSON of the final 10,000 documents;
#   - B5: one write on A → its Subscribe event on B, 1,000 sequential samples: p50 / p99.
# B3/B4 write with build/bench/bench_put_flood (bench/put_flood.cc, C++ nghttp2 client; $PUT_FLOOD
# overrides, PUT_FLOOD=node forces the fallback): Node's http2 client, the fallback when it is not
# built, saturates a core before the node does. B5 writes with Node's http2 client.
# Anchor: bench/mesh/automerge_repo.mjs, @automerge/automerge-repo (pinned in
# bench/mesh/package.json, installed with npm ci) in two processes over its websocket adapter, on
# the same documents, 1,000 of them (10,000 take ≈ 800 s: off unless BENCH_MESH_AUTOMERGE_10K=1;
# the report then quotes the reference figure, marked as not re-run).
# Runs are interleaved (peat, anchor, peat, …) BENCH_RUNS times; the table shows medians and
# ranges, and is appended to docs/BENCHMARKS.md with the date, commit and machine.
#
# Knobs (env): BENCH_RUNS (3), BENCH_MESH_B3_SIZES ("1000 10000"), BENCH_MESH_B4_DOCS (10000),
# BENCH_MESH_B4_UPDATES (100000), BENCH_MESH_B5_SAMPLES (1000), BENCH_MESH_AUTOMERGE_10K (0),
# BENCH_OUT (docs/BENCHMARKS.md; empty = do not append), BENCH_KEEP=1 (keep the temp dir with the
# raw outputs and logs), PEAT_NODE, PUT_FLOOD, BENCH_ENCRYPT=1 (both peat nodes run with one
# --encryption-key; the anchor is unchanged).
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run. A scenario
# that fails (e.g. a build without the mesh) is reported as "not measured" with its error.

set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init mesh.sh

PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
RUNS=${BENCH_RUNS:-3}
B3_SIZES=${BENCH_MESH_B3_SIZES:-1000 10000}
B4_DOCS=${BENCH_MESH_B4_DOCS:-10000}
B4_UPDATES=${BENCH_MESH_B4_UPDATES:-100000}
B5_SAMPLES=${BENCH_MESH_B5_SAMPLES:-1000}
AM_10K=${BENCH_MESH_AUTOMERGE_10K:-0}
ANCHOR_DIR=$ROOT/bench/mesh

command -v node >/dev/null || die "node not found (make deps)"
command -v npm >/dev/null || die "npm not found (make deps)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
PUT_FLOOD_BIN=${PUT_FLOOD:-$ROOT/build/bench/bench_put_flood}
[[ $PUT_FLOOD_BIN == node || -x $PUT_FLOOD_BIN ]] ||
  log "warning: $PUT_FLOOD_BIN not built: B3/B4 write with Node's http2 client, which bounds B3 (cmake --build build --target bench_put_flood)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
if [[ ! -f $ANCHOR_DIR/node_modules/@automerge/automerge-repo/package.json ]]; then
  log "installing the automerge-repo anchor (npm ci in bench/mesh)"
  (cd "$ANCHOR_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
fi

export PEAT_NODE_BIN=$PEAT_NODE
max_docs=0
for n in $B3_SIZES; do ((n > max_docs)) && max_docs=$n; done
node "$ANCHOR_DIR/peat_mesh.mjs" dump-docs --docs "$max_docs" >"$TMP/docs.jsonl" || die "dump-docs failed"

for ((rep = 1; rep <= RUNS; rep++)); do
  for n in $B3_SIZES; do
    log "run $rep/$RUNS: B3 peat, $n docs"
    bench_run "b3_peat_$n.$rep" node "$ANCHOR_DIR/peat_mesh.mjs" b3 --docs "$n"
    if ((n < 10000)) || [[ $AM_10K == 1 ]]; then
      log "run $rep/$RUNS: B3 automerge-repo, $n docs"
      bench_run "b3_automerge_$n.$rep" node "$ANCHOR_DIR/automerge_repo.mjs" --docs "$TMP/docs.jsonl" --count "$n" --timeout-s 1800
    fi
  done
  log "run $rep/$RUNS: B4 peat, $B4_UPDATES updates to $B4_DOCS docs"
  bench_run "b4_peat.$rep" node "$ANCHOR_DIR/peat_mesh.mjs" b4 --docs "$B4_DOCS" --updates "$B4_UPDATES"
  log "run $rep/$RUNS: B5 peat, $B5_SAMPLES samples"
  bench_run "b5_peat.$rep" node "$ANCHOR_DIR/peat_mesh.mjs" b5 --samples "$B5_SAMPLES"
done

export BENCH_RUNS=$RUNS BENCH_MESH_B3_SIZES=$B3_SIZES
BENCH_AM_REPO=$(node -p "require('$ANCHOR_DIR/node_modules/@automerge/automerge-repo/package.json').version")
BENCH_AUTOMERGE=$(node -p "require('$ANCHOR_DIR/node_modules/@automerge/automerge/package.json').version")
export BENCH_AM_REPO BENCH_AUTOMERGE
bench_publish "$PEAT_NODE" node "$ANCHOR_DIR/report.mjs"
