#!/usr/bin/env bash
# B2: CRDT engine micro-benchmarks, measured next to an Automerge anchor in the SAME run.
#
#   bash bench/engine.sh            (or: make bench-engine)
#
# Runs, REPS times each and interleaved (so background noise hits both alike):
#   - bench_engine (Google Benchmark, bench/engine/engine_bench.cc): create from JSON, single-field
#     update through Put-diff, merge of two replicas that each changed one field, render,
#     encode/decode, encoded size / JSON size;
#   - bench/engine/automerge_bench.mjs: @automerge/automerge (pinned in bench/engine/package.json)
#     doing the same operations on the same ~300-byte documents (written by bench_engine
#     --dump_docs).
# Prints a table of medians (ops/s, ratio to Automerge with the per-repetition range, the bars:
# ≥ 50× Automerge on updates and merges, encoded state ≤ 1.2× JSON) and appends it to
# docs/BENCHMARKS.md with the date, commit and machine.
#
# Knobs (env): BENCH_BUILD_DIR (build tree holding bench/bench_engine, default build),
# BENCH_ENGINE (the binary itself), BENCH_SECONDS (measuring time per operation and run, 1),
# BENCH_REPS (3), BENCH_OUT (docs/BENCHMARKS.md; empty = do not append), BENCH_KEEP=1 (keep the
# temporary directory with the raw JSON outputs).
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build}
ENGINE=${BENCH_ENGINE:-$BUILD_DIR/bench/bench_engine}
SECS=${BENCH_SECONDS:-1}
REPS=${BENCH_REPS:-3}
OUT_MD=${BENCH_OUT-$ROOT/docs/BENCHMARKS.md}
ANCHOR_DIR=$ROOT/bench/engine

START_S=$(date +%s)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '[engine.sh %3ds] %s\n' "$(($(date +%s) - START_S))" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

command -v node >/dev/null || die "node not found (make deps)"
command -v npm >/dev/null || die "npm not found (make deps)"
[[ -x $ENGINE ]] || die "$ENGINE not built (cmake --build ${BUILD_DIR#"$ROOT/"} --target bench_engine)"
if [[ ! -f $ANCHOR_DIR/node_modules/@automerge/automerge/package.json ]]; then
  log "installing the Automerge anchor (npm ci in bench/engine)"
  (cd "$ANCHOR_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
fi

TMP=$(mktemp -d /tmp/peat-bench-engine.XXXXXX)
cleanup() { if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ENGINE" --dump_docs="$TMP/docs.jsonl" || die "bench_engine --dump_docs failed"
for ((rep = 1; rep <= REPS; rep++)); do
  log "run $rep/$REPS: bench_engine"
  "$ENGINE" --benchmark_min_time="$SECS" --benchmark_format=json >"$TMP/peat.$rep.json" 2>"$TMP/peat.$rep.err" ||
    die "bench_engine failed: $(tail -3 "$TMP/peat.$rep.err")"
  log "run $rep/$REPS: automerge"
  node "$ANCHOR_DIR/automerge_bench.mjs" "$TMP/docs.jsonl" "$SECS" >"$TMP/automerge.$rep.json" ||
    die "automerge_bench.mjs failed"
done

BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}  # the project's default when none is given
CXX_ID=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
CXX_VER=$("${CXX_ID:-c++}" --version 2>/dev/null | head -1 || true)
export BENCH_TMP=$TMP BENCH_REPS=$REPS BENCH_SECONDS=$SECS
export BENCH_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
export BENCH_COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
export BENCH_CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
export BENCH_NPROC=$(nproc)
export BENCH_LOADAVG_START=$LOADAVG_START BENCH_LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_ENGINE_DESC="\`${ENGINE#"$ROOT/"}\` (${BUILD_TYPE}, ${CXX_VER:-unknown compiler})"
export BENCH_NODE=$(node --version)
export BENCH_AUTOMERGE=$(node -p "require('$ANCHOR_DIR/node_modules/@automerge/automerge/package.json').version")
export BENCH_ELAPSED=$(($(date +%s) - START_S))
node "$ANCHOR_DIR/report.mjs" >"$TMP/report.md" || die "report failed"

cat "$TMP/report.md"
if [[ -n $OUT_MD ]]; then
  [[ -f $OUT_MD ]] || die "$OUT_MD missing (bench/rpc.sh creates it with its header)"
  cat "$TMP/report.md" >>"$OUT_MD"
  log "appended to ${OUT_MD#"$ROOT/"}"
fi
log "done in $(($(date +%s) - START_S)) s"
