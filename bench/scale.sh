#!/usr/bin/env bash
# B8: mesh scale. N peat-node processes on one machine, a seeded random topology in which every
# node has degree ≥ 3; one document written on every node at once; time until every node holds
# every document. N = 8, 24, 48.
#
#   bash bench/scale.sh            (or: make bench-scale)
#
# Every run (bench/scale/scale.mjs, on the harness of tests/integration/lib/mesh_cluster.mjs)
# starts N fresh processes of build/peat-node (or $PEAT_NODE) on 127.0.0.1: node ids n1..nN, one
# formation (app id + shared key), own data dirs, API on port 0, mesh on a free port; edges are
# static --peer flags (each edge dialed by one side) along randomMinDegree(N, 3, seed): a ring
# through a random permutation plus random chords until every node has degree ≥ 3. The clock starts
# once every node reports its degree as GetStatus.connected_peers and one Subscribe stream per node
# is registered; it stops when the last node's stream has delivered all N documents. Also reported:
# Σ GetSyncStats bytes, mesh deliveries (peat_mesh_changes_received_total), VmRSS per node, CPU of
# the nodes and of the (single) client process during the clock.
# Anchor: the original's published figure, 24 nodes converge in 54 s (quoted, not re-run).
# Runs are interleaved (8 nodes with the client at nice 0, at nice -20, 24 …, 48 …, 8 …) BENCH_RUNS
# times; the table shows medians and ranges, and is appended to docs/BENCHMARKS.md with the date,
# commit and machine.
#
# Knobs (env): BENCH_RUNS (3), BENCH_SCALE_SIZES ("8 24 48"), BENCH_SCALE_SEED (1: the same graph
# in every run of a size), BENCH_SCALE_TIMEOUT_S (180, per run), BENCH_SCALE_CLIENT_NICE ("0 -20":
# every size is run with the client's event-loop thread at each of these nice levels, the nodes at
# 0; at -20 the reader of the clock is served before the nodes, so its own scheduling lag shrinks;
# a negative level needs root/CAP_SYS_NICE, else that run stays at 0 and the table says so),
# BENCH_OUT (docs/BENCHMARKS.md; empty = do not append), BENCH_KEEP=1 (keep the temp dir with the
# raw outputs), PEAT_NODE.
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run. A run that
# fails is reported as "not measured" with its error.

set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init scale.sh

PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SCALE_SIZES:-8 24 48}
SEED=${BENCH_SCALE_SEED:-1}
TIMEOUT_S=${BENCH_SCALE_TIMEOUT_S:-180}
CLIENT_NICE=${BENCH_SCALE_CLIENT_NICE:-0 -20}
SCALE=$ROOT/bench/scale/scale.mjs

command -v node >/dev/null || die "node not found (make deps)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
max_n=0
for n in $SIZES; do ((n > max_n)) && max_n=$n; done
# every node holds a few descriptors (store, listeners, peers, pipes to this client) and the client
# one connection per node
if (($(ulimit -n) < 8 * max_n + 256)); then ulimit -n $((8 * max_n + 256)) 2>/dev/null || log "warning: ulimit -n $(ulimit -n) may be low for $max_n nodes"; fi

export PEAT_NODE_BIN=$PEAT_NODE

for ((rep = 1; rep <= RUNS; rep++)); do
  for n in $SIZES; do
    for nice in $CLIENT_NICE; do
      log "run $rep/$RUNS: B8 $n nodes, client at nice $nice"
      bench_run "scale_${n}_nice$nice.$rep" node "$SCALE" run --nodes "$n" --seed "$SEED" --timeout-s "$TIMEOUT_S" --client-nice "$nice"
    done
  done
done

export BENCH_RUNS=$RUNS BENCH_SCALE_SIZES=$SIZES BENCH_SCALE_SEED=$SEED BENCH_SCALE_CLIENT_NICE=$CLIENT_NICE
bench_publish "$PEAT_NODE" node "$SCALE" report
