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
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init engine.sh

BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build}
ENGINE=${BENCH_ENGINE:-$BUILD_DIR/bench/bench_engine}
SECS=${BENCH_SECONDS:-1}
REPS=${BENCH_REPS:-3}
ANCHOR_DIR=$ROOT/bench/engine

command -v node >/dev/null || die "node not found (make deps)"
command -v npm >/dev/null || die "npm not found (make deps)"
[[ -x $ENGINE ]] || die "$ENGINE not built (cmake --build ${BUILD_DIR#"$ROOT/"} --target bench_engine)"
if [[ ! -f $ANCHOR_DIR/node_modules/@automerge/automerge/package.json ]]; then
  log "installing the Automerge anchor (npm ci in bench/engine)"
  (cd "$ANCHOR_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
fi

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
bench_facts
export BENCH_REPS=$REPS BENCH_SECONDS=$SECS
export BENCH_ENGINE_DESC="\`${ENGINE#"$ROOT/"}\` (${BUILD_TYPE}, ${CXX_VER:-unknown compiler})"
export BENCH_AUTOMERGE=$(node -p "require('$ANCHOR_DIR/node_modules/@automerge/automerge/package.json').version")
node "$ANCHOR_DIR/report.mjs" >"$TMP/report.md" || die "report failed"
bench_append
