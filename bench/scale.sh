#!/usr/bin/env bash
# B8: mesh scale. N peat-node processes on one machine, joined along a seeded random topology in
# which every node has degree ≥ 3 ("d3") or as a full mesh ("full"), every node relaying with
# --mesh-relay offer (relay once: a change merged from a peer is passed on as a digest, only peers
# that lack it fetch it) or push (the whole state to every other peer, the old behaviour); one
# document written on every node at once; time until every node holds every document. Cases
# (N:topology:relay): 8:d3:offer, 24 and 48 on d3 with both relays, 12 on the full mesh with both,
# 96:d3:offer.
#
#   bash bench/scale.sh            (or: make bench-scale)
#
# Every run (bench/scale/scale.mjs, on the harness of tests/integration/lib/mesh_cluster.mjs)
# starts N fresh processes of build/peat-node (or $PEAT_NODE) on 127.0.0.1: node ids n1..nN, one
# formation (app id + shared key), own data dirs, API on port 0, mesh on a free port,
# --mesh-relay of the case; edges are static --peer flags (each edge dialed by one side): d3 =
# randomMinDegree(N, 3, seed), a ring through a random permutation plus random chords until every
# node has degree ≥ 3; full = every pair. The clock starts once every node reports its degree as
# GetStatus.connected_peers and one Subscribe stream per node is registered; it stops when the last
# node's stream has delivered all N documents. Also reported: Σ GetSyncStats bytes, mesh
# deliveries (peat_mesh_changes_received_total), offers sent (peat_mesh_offers_sent_total), states
# wanted (peat_mesh_states_wanted_total), VmRSS per node, CPU of the nodes and of the (single)
# client process during the clock; under the table, each offer case against the push case of the
# same N and topology (deliveries, bytes per doc, time). Bars: ≤ 5 s at N = 24; deliveries ÷
# N·(N−1) ≤ 1.2 with relay offer at 48:d3 and 12:full; at N = 96 ≤ 2 s and ≤ 32 MB RSS per node.
# Anchor: the original's published figure, 24 nodes converge in 54 s (quoted, not re-run).
# Runs are interleaved (every case at every client nice level, then the next repetition)
# BENCH_RUNS times; the table shows medians and ranges, and is appended to docs/BENCHMARKS.md
# with the date, commit and machine.
#
# Knobs (env): BENCH_RUNS (3), BENCH_SCALE_CASES (N:topology:relay list, topology d3|full, relay
# offer|push; default "8:d3:offer 24:d3:offer 24:d3:push 48:d3:offer 48:d3:push 12:full:offer
# 12:full:push 96:d3:offer"), BENCH_SCALE_SIZES (older form, used when BENCH_SCALE_CASES is not
# set: "8 24 48" means "8:d3:offer 24:d3:offer 48:d3:offer"), BENCH_SCALE_SEED (1: the same d3
# graph in every run of a size), BENCH_SCALE_TIMEOUT_S (180, per run), BENCH_SCALE_CLIENT_NICE
# ("-20": every case is run with the client's event-loop thread at each of these nice levels, the
# nodes at 0; at -20 the reader of the clock is served before the nodes, so its own scheduling lag
# shrinks; "0 -20" runs both; a negative level needs root/CAP_SYS_NICE, else that run stays at 0
# and the table says so), BENCH_SCALE_MARKS (a file: each run appends "N START,END", the clock in
# CLOCK_MONOTONIC seconds, for `perf record -a -k mono` + `perf report --time START,END`),
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
DEFAULT_CASES="8:d3:offer 24:d3:offer 24:d3:push 48:d3:offer 48:d3:push 12:full:offer 12:full:push 96:d3:offer"
if [[ -n ${BENCH_SCALE_CASES:-} ]]; then
  CASES=$BENCH_SCALE_CASES
  [[ -z ${BENCH_SCALE_SIZES:-} ]] || log "BENCH_SCALE_CASES is set: BENCH_SCALE_SIZES ($BENCH_SCALE_SIZES) is ignored"
elif [[ -n ${BENCH_SCALE_SIZES:-} ]]; then
  CASES=""
  for n in $BENCH_SCALE_SIZES; do CASES+="${CASES:+ }$n:d3:offer"; done
else
  CASES=$DEFAULT_CASES
fi
SEED=${BENCH_SCALE_SEED:-1}
TIMEOUT_S=${BENCH_SCALE_TIMEOUT_S:-180}
CLIENT_NICE=${BENCH_SCALE_CLIENT_NICE:--20}
SCALE=$ROOT/bench/scale/scale.mjs

command -v node >/dev/null || die "node not found (make deps)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
max_n=0
for c in $CASES; do
  [[ $c =~ ^([0-9]+):(d3|full):(offer|push)$ ]] || die "BENCH_SCALE_CASES: '$c' is not N:d3|full:offer|push"
  n=${BASH_REMATCH[1]}
  [[ ${BASH_REMATCH[2]} == full ]] && ((n < 2)) && die "BENCH_SCALE_CASES: '$c': a full mesh needs N ≥ 2"
  [[ ${BASH_REMATCH[2]} == d3 ]] && ((n < 4)) && die "BENCH_SCALE_CASES: '$c': degree 3 needs N ≥ 4"
  ((n > max_n)) && max_n=$n
done
[[ -n $CASES ]] || die "no case to run (BENCH_SCALE_CASES / BENCH_SCALE_SIZES empty)"
# every node holds a few descriptors (store, listeners, up to N − 1 peers in a full mesh, pipes to
# this client) and the client one connection per node
if (($(ulimit -n) < 8 * max_n + 256)); then ulimit -n $((8 * max_n + 256)) 2>/dev/null || log "warning: ulimit -n $(ulimit -n) may be low for $max_n nodes"; fi

export PEAT_NODE_BIN=$PEAT_NODE

for ((rep = 1; rep <= RUNS; rep++)); do
  for c in $CASES; do
    IFS=: read -r n topology relay <<<"$c"
    for nice in $CLIENT_NICE; do
      log "run $rep/$RUNS: B8 $n nodes, topology $topology, relay $relay, client at nice $nice"
      bench_run "scale_${n}_${topology}_${relay}_nice$nice.$rep" node "$SCALE" run --nodes "$n" --topology "$topology" --relay "$relay" \
        --seed "$SEED" --timeout-s "$TIMEOUT_S" --client-nice "$nice" --rep "$rep"
    done
  done
done

export BENCH_RUNS=$RUNS BENCH_SCALE_CASES=$CASES BENCH_SCALE_SEED=$SEED BENCH_SCALE_CLIENT_NICE=$CLIENT_NICE
bench_publish "$PEAT_NODE" node "$SCALE" report
