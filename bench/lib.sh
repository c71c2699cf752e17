# shellcheck shell=bash
# shellcheck disable=SC2034 # ROOT, START_S, TMP, OUT_MD are used by the scripts that source this file
# Helpers shared by the benchmark drivers (bench/*.sh): prologue (log, die, temp dir), one JSON
# line per run, the machine facts every report prints, appending to docs/BENCHMARKS.md. Sourced:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init ddil.sh              # ROOT, START_S, OUT_MD; log/die; TMP (removed on exit unless BENCH_KEEP=1)
#   bench_run NAME CMD...           # one JSON line into $TMP/NAME.json; never fails the script
#   bench_publish "$PEAT_NODE" node report.mjs ...
#                                   # exports the machine/commit/build facts (BENCH_*), runs the
#                                   # report command, prints it and appends it to $OUT_MD
#   bench_facts; bench_append       # the same in two steps, for a report built otherwise

# bench_init SCRIPT_NAME: the common prologue (after `set -euo pipefail`).
bench_init() {
  BENCH_SCRIPT=$1
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  OUT_MD=${BENCH_OUT-$ROOT/docs/BENCHMARKS.md}
  START_S=$(date +%s)
  BENCH_LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
  BENCH_COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo unknown) # at the start
  TMP=$(mktemp -d "/tmp/peat-bench-${BENCH_SCRIPT%.sh}.XXXXXX")
  trap bench__cleanup EXIT
  trap 'exit 130' INT TERM
}
bench__cleanup() { if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi; }

log() { printf '[%s %3ds] %s\n' "$BENCH_SCRIPT" "$(($(date +%s) - START_S))" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# bench_run NAME CMD... : one JSON line into $TMP/NAME.json, stderr into $TMP/NAME.err; never
# fails the script (a failure becomes {"error": ...}).
bench_run() {
  local name=$1
  shift
  local rc=0
  "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
  if ((rc != 0)) || [[ ! -s $TMP/$name.json ]]; then
    # shellcheck disable=SC1003 # tr deletes double quotes and backslashes
    printf '{"error":"exit %s: %s"}\n' "$rc" "$(tail -1 "$TMP/$name.err" | tr -d '"\\' | cut -c1-200)" >"$TMP/$name.json"
  fi
  log "  $name: $(tail -1 "$TMP/$name.json" | cut -c1-220)"
}

# bench_facts: exports the facts every report prints: BENCH_TMP, BENCH_UTC, BENCH_COMMIT (at
# bench_init), BENCH_CPU, BENCH_NPROC, BENCH_LOADAVG_START/END, BENCH_NODE, BENCH_ELAPSED.
bench_facts() {
  export BENCH_TMP=$TMP
  export BENCH_UTC BENCH_COMMIT BENCH_CPU BENCH_NPROC BENCH_LOADAVG_START BENCH_LOADAVG_END BENCH_NODE BENCH_ELAPSED
  BENCH_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
  BENCH_CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  BENCH_NPROC=$(nproc)
  BENCH_LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
  BENCH_NODE=$(node --version 2>/dev/null || echo unknown)
  BENCH_ELAPSED=$(($(date +%s) - START_S))
}

# bench_append: prints $TMP/report.md and appends it to $OUT_MD (unless OUT_MD is empty).
bench_append() {
  cat "$TMP/report.md"
  if [[ -n $OUT_MD ]]; then
    [[ -f $OUT_MD ]] || die "$OUT_MD missing (bench/rpc.sh creates it with its header)"
    cat "$TMP/report.md" >>"$OUT_MD"
    log "appended to ${OUT_MD#"$ROOT/"}"
  fi
  log "done in $(($(date +%s) - START_S)) s"
}

# bench_publish PEAT_NODE REPORT_CMD...: bench_facts, BENCH_PEAT_DESC (binary, build type, build
# time), then REPORT_CMD (markdown on stdout) into $TMP/report.md, and bench_append.
bench_publish() {
  local peat=$1 build_type
  shift
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$peat")/CMakeCache.txt" 2>/dev/null || true)
  bench_facts
  export BENCH_PEAT_DESC
  BENCH_PEAT_DESC="\`${peat#"$ROOT/"}\` (${build_type:-build type unknown}, built $(date -u -r "$peat" '+%Y-%m-%d %H:%M UTC'))"
  "$@" >"$TMP/report.md" || die "report failed"
  bench_append
}
