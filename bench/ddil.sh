#!/usr/bin/env bash
# B7: the DDIL link. Two peat-node processes on two network-namespace hosts (tests/net, root only)
# joined by netem-lite at 1 Mbit/s each way, 100 ms delay each way (200 ms RTT), 10 % loss each way.
#
#   bash bench/ddil.sh            (or: make bench-ddil)
#
# Every run (bench/ddil/ddil.mjs) builds fresh hosts and nodes (tests/integration/lib/mesh_cluster.mjs
# MeshNode inside the hosts, B dials A, bench_put_flood inside host A writes, a Subscribe stream on
# B is the clock) and measures, for each TCP congestion control in BENCH_DDIL_CC:
#   - TCP alone: one plain TCP connection on the same link for 10 s (tests/net/nettool.mjs): the
#     transport's ceiling, next to the link rate;
#   - B7a: 1,000 docs (~300 B) written on A until all are on B: time, goodput = raw JSON / time vs
#     the link rate (bar ≥ 0.5×), mesh bytes, the emulator's link counters, TCP retransmissions;
#   - B7b: urgent docs in collection "alerts" written on A one at a time and timed until they are on
#     B: 10 on the idle link (the anchor: what the link alone costs), then, once B holds a quarter
#     of a 2 MB backlog written on A in collection "logs", up to 10 more while it drains (bar: p50
#     ≤ 1 s); with A started with --collection-priority alerts=critical and logs=bulk, and without
#     priorities (all routine: the first urgent doc waits for the whole backlog).
# Anchor: the link capacity and plain TCP on the same link; the original's target, urgent data
# < 1 s while bulk is in flight, and the same urgent writes on the idle link.
# Runs are interleaved (all scenarios of run 1, then run 2, …; run k uses link seed k) BENCH_RUNS
# times; the table shows medians and ranges, and is appended to docs/BENCHMARKS.md with the
# date, commit and machine.
#
# Knobs (env): BENCH_RUNS (3), BENCH_DDIL_CC ("bbr reno": the namespaces' TCP congestion control;
# outside the root namespace only those in net.ipv4.tcp_allowed_congestion_control can be set,
# "default" = leave it), BENCH_DDIL_DOCS (1000), BENCH_DDIL_BACKLOG_BYTES (2000000),
# BENCH_DDIL_TIMEOUT_S (900, per wait), BENCH_OUT (docs/BENCHMARKS.md; empty = do not append),
# BENCH_KEEP=1 (keep the temp dir with the raw outputs), PEAT_NODE, PUT_FLOOD.
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run. A run that
# fails is reported as "not measured" with its error.

set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init ddil.sh

PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
RUNS=${BENCH_RUNS:-3}
CCS=${BENCH_DDIL_CC:-bbr reno}
DOCS=${BENCH_DDIL_DOCS:-1000}
BACKLOG=${BENCH_DDIL_BACKLOG_BYTES:-2000000}
TIMEOUT_S=${BENCH_DDIL_TIMEOUT_S:-900}
DDIL=$ROOT/bench/ddil/ddil.mjs

[[ $(id -u) == 0 ]] || die "root only: network namespaces and TUN devices (tests/net/README.md)"
command -v node >/dev/null || die "node not found (make deps)"
command -v ss >/dev/null || die "ss not found (apt-get install iproute2)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
PUT_FLOOD_BIN=${PUT_FLOOD:-$ROOT/build/bench/bench_put_flood}
[[ $PUT_FLOOD_BIN == node || -x $PUT_FLOOD_BIN ]] ||
  log "warning: $PUT_FLOOD_BIN not built: writes go through grpc-js (cmake --build build --target bench_put_flood)"
[[ -x $ROOT/build/tests/net/netem-lite ]] && export PEATNET_BIN=${PEATNET_BIN:-$ROOT/build/tests/net/netem-lite}
export PEAT_NODE_BIN=$PEAT_NODE

common=(--timeout-s "$TIMEOUT_S")
for ((rep = 1; rep <= RUNS; rep++)); do
  for cc in $CCS; do
    log "run $rep/$RUNS, TCP $cc: TCP alone on the link"
    bench_run "tcp_$cc.$rep" node "$DDIL" tcp --cc "$cc" --seed "$rep" "${common[@]}"
    log "run $rep/$RUNS, TCP $cc: B7a $DOCS docs"
    bench_run "goodput_$cc.$rep" node "$DDIL" goodput --docs "$DOCS" --cc "$cc" --seed "$rep" "${common[@]}"
    for mode in prio routine; do
      log "run $rep/$RUNS, TCP $cc: B7b urgent doc under a $BACKLOG-byte backlog, $mode"
      bench_run "urgent_${cc}_$mode.$rep" node "$DDIL" urgent --backlog-bytes "$BACKLOG" \
        --priorities "$([[ $mode == prio ]] && echo 1 || echo 0)" --cc "$cc" --seed "$rep" "${common[@]}"
    done
  done
done

export BENCH_RUNS=$RUNS BENCH_DDIL_CC=$CCS
bench_publish "$PEAT_NODE" node "$DDIL" report
