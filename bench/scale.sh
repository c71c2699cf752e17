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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
RUNS=${BENCH_RUNS:-3}
SIZES=${BENCH_SCALE_SIZES:-8 24 48}
SEED=${BENCH_SCALE_SEED:-1}
TIMEOUT_S=${BENCH_SCALE_TIMEOUT_S:-180}
CLIENT_NICE=${BENCH_SCALE_CLIENT_NICE:-0 -20}
OUT_MD=${BENCH_OUT-$ROOT/docs/BENCHMARKS.md}
SCALE=$ROOT/bench/scale/scale.mjs

START_S=$(date +%s)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '[scale.sh %3ds] %s\n' "$(($(date +%s) - START_S))" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

command -v node >/dev/null || die "node not found (make deps)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
max_n=0
for n in $SIZES; do ((n > max_n)) && max_n=$n; done
# every node holds a few descriptors (store, listeners, peers, pipes to this client) and the client
# one connection per node
if (($(ulimit -n) < 8 * max_n + 256)); then ulimit -n $((8 * max_n + 256)) 2>/dev/null || log "warning: ulimit -n $(ulimit -n) may be low for $max_n nodes"; fi

TMP=$(mktemp -d /tmp/peat-bench-scale.XXXXXX)
cleanup() { if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export PEAT_NODE_BIN=$PEAT_NODE

# run NAME CMD... : one JSON line into $TMP/NAME.json, stderr into $TMP/NAME.err; never fails the script.
run() {
  local name=$1
  shift
  local rc=0
  "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
  if ((rc != 0)) || [[ ! -s $TMP/$name.json ]]; then
    printf '{"error":"exit %s: %s"}\n' "$rc" "$(tail -1 "$TMP/$name.err" | tr -d '"\\' | cut -c1-200)" >"$TMP/$name.json"
  fi
  log "  $name: $(tail -1 "$TMP/$name.json" | cut -c1-220)"
}

for ((rep = 1; rep <= RUNS; rep++)); do
  for n in $SIZES; do
    for nice in $CLIENT_NICE; do
      log "run $rep/$RUNS: B8 $n nodes, client at nice $nice"
      run "scale_${n}_nice$nice.$rep" node "$SCALE" run --nodes "$n" --seed "$SEED" --timeout-s "$TIMEOUT_S" --client-nice "$nice"
    done
  done
done

BUILD_DIR=$(dirname "$PEAT_NODE")
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
export BENCH_TMP=$TMP BENCH_RUNS=$RUNS BENCH_SCALE_SIZES=$SIZES BENCH_SCALE_SEED=$SEED BENCH_SCALE_CLIENT_NICE=$CLIENT_NICE
export BENCH_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
export BENCH_COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
export BENCH_CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
export BENCH_NPROC=$(nproc)
export BENCH_LOADAVG_START=$LOADAVG_START BENCH_LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_PEAT_DESC="\`${PEAT_NODE#"$ROOT/"}\` (${BUILD_TYPE:-build type unknown}, built $(date -u -r "$PEAT_NODE" '+%Y-%m-%d %H:%M UTC'))"
export BENCH_NODE=$(node --version)
export BENCH_ELAPSED=$(($(date +%s) - START_S))
node "$SCALE" report >"$TMP/report.md" || die "report failed"

cat "$TMP/report.md"
if [[ -n $OUT_MD ]]; then
  [[ -f $OUT_MD ]] || die "$OUT_MD missing (bench/rpc.sh creates it with its header)"
  cat "$TMP/report.md" >>"$OUT_MD"
  log "appended to ${OUT_MD#"$ROOT/"}"
fi
log "done in $(($(date +%s) - START_S)) s"
