#!/usr/bin/env bash
# B6: footprint of peat-node — idle RSS of an empty node, time from exec to READY, and the same
# with 1,000,000 documents stored — next to an anchor measured in the SAME run.
#
#   bash bench/footprint.sh
#
# One run, on 127.0.0.1 only, everything in a temporary directory:
#   1. empty node, BENCH_REPS times (fresh data dir each), interleaved with the anchor:
#      time exec → "phase READY" on stderr, VmRSS/VmHWM (/proc/PID/status) at READY and after
#      2 s idle; anchor: redis-server (empty, --save '' --appendonly no), exec → "Ready to accept
#      connections", same /proc figures;
#   2. load BENCH_DOCS documents (~300 B of JSON each: strings, numbers, a nested object, a small
#      array; unique ids) through the API: PutDocument over gRPC (h2c), bench/footprint_load.mjs,
#      BENCH_LOADERS processes × BENCH_INFLIGHT calls in flight. Bounded: if after
#      BENCH_CHECK_DOCS documents the rate projects the full load beyond BENCH_LOAD_BUDGET seconds,
#      the load stops there and the 1M figures below are measured at that size (stated in the
#      report; the load time for 1M is extrapolated). Then SIGTERM and the store size on disk;
#   3. restart on that data dir, BENCH_RESTARTS times: exec → READY, VmRSS at READY, after 2 s
#      idle, after a burst of 10,000 random GetDocument calls (gRPC), VmHWM; plus an RSS
#      breakdown (/proc/PID/smaps of the last restart: anonymous vs file-backed, by mapping).
# Figures are medians over the repetitions (range in brackets). Times come from a monotonic clock
# (CLOCK_MONOTONIC, through one perl coprocess started up front: no fork per sample) and are
# event-driven: the script reads the server's log line by line and stamps the READY line when it
# arrives; no sleeps are used to synchronise. The node's own log timestamps give the split of its
# startup into phases.
#
# Knobs (env): BENCH_DOCS (1000000), BENCH_REPS (5: empty node + redis starts), BENCH_RESTARTS
# (3), BENCH_GETS (10000), BENCH_LOADERS (2 loader processes), BENCH_INFLIGHT (256 calls in flight
# in total), BENCH_LOAD_BUDGET (360 s), BENCH_CHECK_DOCS (200000), BENCH_OUT (docs/BENCHMARKS.md;
# empty = do not append), BENCH_KEEP=1 (keep the temp dir: logs, store), PEAT_NODE.
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run.

set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init footprint.sh # ROOT, OUT_MD, START_S, log, die, TMP

PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
LOADER=$ROOT/bench/footprint_load.mjs
DOCS=${BENCH_DOCS:-1000000}
REPS=${BENCH_REPS:-5}
RESTARTS=${BENCH_RESTARTS:-3}
GETS=${BENCH_GETS:-10000}
LOADERS=${BENCH_LOADERS:-2}
INFLIGHT=${BENCH_INFLIGHT:-256}
LOAD_BUDGET=${BENCH_LOAD_BUDGET:-360}
CHECK_DOCS=${BENCH_CHECK_DOCS:-200000}
IDLE_S=2

for tool in node redis-server perl jq awk sort du mkfifo; do
  command -v "$tool" >/dev/null || die "$tool not found (make deps installs nodejs, redis-server, jq)"
done
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
((CHECK_DOCS < DOCS)) || CHECK_DOCS=0

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  bench__cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
# Monotonic clock: one perl coprocess answers CLOCK_MONOTONIC in µs per request line.

coproc CLOCK { exec perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e \
  '$| = 1; while (<STDIN>) { printf "%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e6 }'; }
PIDS+=("$CLOCK_PID")
CLOCK_IN=${CLOCK[1]}
CLOCK_OUT=${CLOCK[0]}
mono_us() { # VAR
  echo >&"$CLOCK_IN"
  IFS= read -r "$1" <&"$CLOCK_OUT"
}

# ------------------------------------------------------------------------------------------------
# Processes

# launch NAME READY_REGEX CMD... : starts CMD with stdout+stderr into a FIFO, reads it line by
# line (copying to $TMP/NAME.log) until a line matches READY_REGEX. Sets L_PID, L_READY_US (exec →
# READY line, µs), L_PORT (from "listening on tcp://127.0.0.1:PORT", if logged), L_LOG. The rest
# of the output is drained into the log by a background cat.
LAUNCHES=0
launch() {
  local name=$1 ready=$2 fifo line t0 t1 fd
  shift 2
  LAUNCHES=$((LAUNCHES + 1))
  fifo=$TMP/$name.$LAUNCHES.fifo
  L_LOG=$TMP/$name.$LAUNCHES.log
  : >"$L_LOG"
  mkfifo "$fifo"
  L_READY_US=""
  L_PORT=""
  mono_us t0
  "$@" >"$fifo" 2>&1 &
  L_PID=$!
  PIDS+=("$L_PID")
  exec {fd}<"$fifo"
  while IFS= read -r -t 60 -u "$fd" line; do
    printf '%s\n' "$line" >>"$L_LOG"
    if [[ -z $L_PORT && $line =~ listening\ on\ tcp://127\.0\.0\.1:([0-9]+) ]]; then
      L_PORT=${BASH_REMATCH[1]}
    fi
    if [[ $line =~ $ready ]]; then
      mono_us t1
      L_READY_US=$((t1 - t0))
      break
    fi
  done
  cat <&"$fd" >>"$L_LOG" &
  exec {fd}<&-
  rm -f "$fifo"
  [[ -n $L_READY_US ]] || {
    cat "$L_LOG" >&2
    return 1
  }
}

stop() { # PID: SIGTERM and wait (the node drains and closes the store)
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# "VmRSS VmHWM" in kB
mem_of() { awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status"; }
# "Rss Pss Anonymous" in kB
rollup_of() {
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 } END { print r + 0, p + 0, a + 0 }' \
    "/proc/$1/smaps_rollup"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_node() { # DATA_DIR
  mkdir -p "$1"
  launch peat 'phase READY' "$PEAT_NODE" --listen tcp://127.0.0.1:0 --data-dir "$1" ||
    die "peat-node did not reach READY"
  [[ -n $L_PORT ]] || die "peat-node did not log its port"
}

start_redis() {
  local attempt port
  for ((attempt = 0; attempt < 10; attempt++)); do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" && continue
    if launch redis 'Ready to accept connections' redis-server --bind 127.0.0.1 --port "$port" \
      --save '' --appendonly no --protected-mode yes --daemonize no --logfile ''; then
      L_PORT=$port
      return 0
    fi
    wait "$L_PID" 2>/dev/null || true
  done
  die "redis-server did not start"
}

# Startup phases from the node's log timestamps (ms): "init→id id→store store→listen listen→ready"
phases_of() {
  awk '
    function ms(s,   t) { t = substr(s, 12, 12); split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
    / phase INITIALIZING/ { t0 = ms($1) }
    / node id / { t1 = ms($1) }
    / store open / { t2 = ms($1) }
    / listening on / && !t3 { t3 = ms($1) }
    / phase READY/ { t4 = ms($1) }
    END { printf "%.0f %.0f %.0f %.0f %.0f\n", t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0 }' "$1"
}

# RSS by mapping (kB) from /proc/PID/smaps: "rss anon name" lines, largest first.
smaps_by_mapping() {
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]" }
    /^Rss:/ { r[name] += $2 }
    /^Anonymous:/ { a[name] += $2 }
    END { for (n in r) if (r[n] > 0) printf "%d %d %s\n", r[n], a[n], n }' "/proc/$1/smaps" | sort -rn
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'; }
range() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) print lo, hi; else print "nan nan" }'; }

# ------------------------------------------------------------------------------------------------
# 1. Empty node and the redis-server anchor, interleaved.

declare -A M # M[key] = space-separated per-repetition values
add() { M[$1]="${M[$1]:-} $2"; }

for ((rep = 1; rep <= REPS; rep++)); do
  log "repetition $rep/$REPS: empty peat-node"
  start_node "$TMP/empty-$rep"
  pid=$L_PID
  read -r rss hwm < <(mem_of "$pid")
  add empty_ready_us "$L_READY_US"
  add empty_rss_ready "$rss"
  sleep "$IDLE_S" # the idle period being measured, not a synchronisation
  read -r rss hwm < <(mem_of "$pid")
  read -r _ pss anon < <(rollup_of "$pid")
  add empty_rss_idle "$rss"
  add empty_hwm "$hwm"
  add empty_pss_idle "$pss"
  add empty_anon_idle "$anon"
  add empty_threads "$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")"
  ((rep == REPS)) && smaps_by_mapping "$pid" >"$TMP/smaps.empty"
  stop "$pid"
  read -r a b c d e < <(phases_of "$L_LOG")
  add empty_ph_id "$a"
  add empty_ph_store "$b"
  add empty_ph_listen "$c"
  add empty_ph_ready "$d"

  log "repetition $rep/$REPS: redis-server"
  start_redis
  pid=$L_PID
  read -r rss hwm < <(mem_of "$pid")
  add redis_ready_us "$L_READY_US"
  add redis_rss_ready "$rss"
  sleep "$IDLE_S"
  read -r rss hwm < <(mem_of "$pid")
  read -r _ pss anon < <(rollup_of "$pid")
  add redis_rss_idle "$rss"
  add redis_hwm "$hwm"
  add redis_pss_idle "$pss"
  add redis_anon_idle "$anon"
  stop "$pid"
done

# ------------------------------------------------------------------------------------------------
# 2. Load through the API.

DATA=$TMP/full
start_node "$DATA"
pid=$L_PID
url=http://127.0.0.1:$L_PORT
per=$(((DOCS + LOADERS - 1) / LOADERS))
log "loading $DOCS documents through PutDocument (gRPC): $LOADERS loaders × $((INFLIGHT / LOADERS)) in flight"
LOADER_PIDS=()
mono_us load_t0
for ((l = 0; l < LOADERS; l++)); do
  start=$((l * per))
  count=$((DOCS - start < per ? DOCS - start : per))
  node "$LOADER" put --url "$url" --start "$start" --count "$count" \
    --inflight $((INFLIGHT / LOADERS)) --conns 2 --budget-s "$LOAD_BUDGET" \
    --check-at $((CHECK_DOCS / LOADERS)) >"$TMP/load.$l.json" 2>"$TMP/load.$l.err" &
  LOADER_PIDS+=("$!")
  PIDS+=("$!")
done
for p in "${LOADER_PIDS[@]}"; do wait "$p" || die "loader failed: $(cat "$TMP"/load.*.err)"; done
mono_us load_t1
LOAD_S=$(awk -v a="$load_t0" -v b="$load_t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
jq -s '{done: (map(.done) | add), ok: (map(.ok) | add), errors: (map(.errors) | add),
        raw: (map(.rawJsonBytes) | add), stopped: (map(.stopped_early) | any),
        projected: (map(.projected_s) | max), first_error: (map(.first_error) | map(select(.)) | first)}' \
  "$TMP"/load.*.json >"$TMP/load.json"
LOADED=$(jq -r .done "$TMP/load.json")
LOAD_OK=$(jq -r .ok "$TMP/load.json")
LOAD_ERR=$(jq -r .errors "$TMP/load.json")
LOAD_RAW=$(jq -r .raw "$TMP/load.json")
LOAD_STOPPED=$(jq -r .stopped "$TMP/load.json")
LOAD_PROJ=$(jq -r .projected "$TMP/load.json")
LOAD_FIRST_ERR=$(jq -r '.first_error // ""' "$TMP/load.json")
LOAD_RATE=$(awk -v n="$LOAD_OK" -v s="$LOAD_S" 'BEGIN { printf "%.0f", n / s }')
read -r LOAD_RSS LOAD_HWM < <(mem_of "$pid")
log "loaded $LOAD_OK documents in $LOAD_S s ($LOAD_RATE docs/s), $LOAD_ERR errors; node VmRSS $LOAD_RSS kB, VmHWM $LOAD_HWM kB"
mono_us st0
stop "$pid"
mono_us st1
STOP_MS=$(((st1 - st0) / 1000))
store_bytes() { stat -c %s "$DATA"/peat.db* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
STORE_BYTES=$(store_bytes)
STORE_FILES=$(cd "$DATA" && stat -c '%n %s' peat.db* | awk '{ printf "%s%s %.1f MB", sep, $1, $2 / 1048576; sep = ", " }')
STORE_DU=$(du -sk "$DATA" | awk '{ print $1 }')

# ------------------------------------------------------------------------------------------------
# 3. Restarts on the loaded store.

for ((rep = 1; rep <= RESTARTS; rep++)); do
  log "restart $rep/$RESTARTS on $LOADED documents"
  start_node "$DATA"
  pid=$L_PID
  read -r rss hwm < <(mem_of "$pid")
  add full_ready_us "$L_READY_US"
  add full_rss_ready "$rss"
  sleep "$IDLE_S"
  read -r rss hwm < <(mem_of "$pid")
  add full_rss_idle "$rss"
  node "$LOADER" get --url "http://127.0.0.1:$L_PORT" --count "$GETS" --ids "$LOADED" --seed "$rep" \
    --inflight "$INFLIGHT" --conns 4 >"$TMP/get.$rep.json" 2>"$TMP/get.$rep.err" ||
    die "get burst failed: $(cat "$TMP/get.$rep.err")"
  read -r rss hwm < <(mem_of "$pid")
  read -r _ pss anon < <(rollup_of "$pid")
  add full_rss_get "$rss"
  add full_hwm "$hwm"
  add full_pss_get "$pss"
  add full_anon_get "$anon"
  add get_rate "$(jq -r .rate "$TMP/get.$rep.json")"
  add get_found "$(jq -r .found "$TMP/get.$rep.json")"
  add get_errors "$(jq -r .errors "$TMP/get.$rep.json")"
  ((rep == RESTARTS)) && smaps_by_mapping "$pid" >"$TMP/smaps.full"
  stop "$pid"
  read -r a b c d e < <(phases_of "$L_LOG")
  add full_ph_id "$a"
  add full_ph_store "$b"
  add full_ph_listen "$c"
  add full_ph_ready "$d"
done

PROBLEMS=()
for f in "$TMP"/peat.*.log; do
  n=$(grep -ciE '\b(warn|warning|error|critical)\b' "$f" || true)
  ((n > 0)) && PROBLEMS+=("peat-node logged $n warning/error lines ($(basename "$f")), e.g.: $(grep -iE '\b(warn|warning|error|critical)\b' "$f" | head -2 | tr '\n' ' ')")
done
((LOAD_ERR > 0)) && PROBLEMS+=("load: $LOAD_ERR failed PutDocument calls, first: $LOAD_FIRST_ERR")
gerr=$(tr ' ' '\n' <<<"${M[get_errors]}" | awk '{ s += $1 } END { print s + 0 }')
((gerr > 0)) && PROBLEMS+=("GetDocument burst: $gerr failed calls")

# ------------------------------------------------------------------------------------------------
# Report

med() { median <<<"${M[$1]}"; }
rng() { range <<<"${M[$1]}"; }
mb() { awk -v k="$1" 'BEGIN { if (k == "nan") print "n/a"; else printf "%.1f MB", k / 1024 }'; }
ms() { awk -v u="$1" 'BEGIN { if (u == "nan") print "n/a"; else if (u < 10000) printf "%.1f ms", u / 1000; else printf "%.0f ms", u / 1000 }'; }
# "median (lo–hi)" of a kB or µs series
kb_cell() {
  local lo hi
  read -r lo hi < <(rng "$1")
  echo "$(mb "$(med "$1")") ($(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.1f–%.1f", a / 1024, b / 1024 }'))"
}
us_cell() {
  local lo hi
  read -r lo hi < <(rng "$1")
  echo "$(ms "$(med "$1")") ($(awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.0f–%.0f", a / 1000, b / 1000 }'))"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.2f×", a / b; else print "n/a" }'; }
verdict() { # VALUE LIMIT (same unit)
  awk -v v="$1" -v l="$2" 'BEGIN { if (v == "nan") print "n/a"; else if (v <= l) print "meets"; else print "**over**" }'
}
msph() { # phase breakdown "a / b / c / d ms" of medians
  echo "$(med "$1_ph_id") / $(med "$1_ph_store") / $(med "$1_ph_listen") / $(med "$1_ph_ready") ms"
}
smaps_table() { # FILE: top mappings "name rss (anon)"
  awk -v root="$ROOT/" -v tmp="$TMP/" '
    NR <= 10 {
      n = $3; sub(root, "", n); sub(tmp, "<tmp>/", n); sub(/.*\/usr\/lib\/x86_64-linux-gnu\//, "", n)
      printf "%s%s %.1f MB (anon %.1f)", sep, n, $1 / 1024, $2 / 1024; sep = "; "
    }' "$1"
}
smaps_split() { # FILE: "anonymous X MB, file-backed Y MB (of which peat-node binary Z MB, shared libs W MB)"
  awk -v bin="$PEAT_NODE" '
    { rss += $1; anon += $2 }
    $3 == bin { b += $1 - $2 }
    $3 ~ /\.so/ { so += $1 - $2 }
    END { printf "anonymous %.1f MB, file-backed %.1f MB (peat-node binary %.1f MB, shared libraries %.1f MB)",
          anon / 1024, (rss - anon) / 1024, b / 1024, so / 1024 }' "$1"
}

UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
BIN_TIME=$(date -u -r "$PEAT_NODE" '+%Y-%m-%d %H:%M UTC')
REDIS_VER=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
ELAPSED=$(($(date +%s) - START_S))
FULL_LABEL=$(awk -v n="$LOADED" 'BEGIN { if (n >= 1e6 && n % 1e6 == 0) printf "%dM docs", n / 1e6; else if (n >= 1e3 && n % 1e3 == 0) printf "%dk docs", n / 1e3; else printf "%d docs", n }')
AVG_DOC=$(awk -v b="$LOAD_RAW" -v n="$LOAD_OK" 'BEGIN { if (n) printf "%.0f", b / n; else print 0 }')

{
  echo "### B6 Footprint — $UTC, commit \`$COMMIT\`"
  echo
  echo "Machine: nproc $(nproc), $CPU; load average $BENCH_LOADAVG_START at the start, $LOADAVG at the end (shared machine:"
  echo "other builds ran next to it, so times are noisy; RSS figures are not affected by load)."
  echo "peat-node: \`${PEAT_NODE#"$ROOT/"}\` built $BIN_TIME, default options. Medians over $REPS starts of an empty"
  echo "node (fresh data dir each) interleaved with $REPS starts of the anchor, and $RESTARTS restarts on the loaded store"
  echo "(range in brackets); exec → READY is stamped with CLOCK_MONOTONIC when the READY line arrives on the log pipe."
  echo "Script took ${ELAPSED} s."
  echo
  echo "Anchor (same run): redis-server $REDIS_VER, empty (\`--save '' --appendonly no\`): exec → \"Ready to accept"
  echo "connections\" $(us_cell redis_ready_us), VmRSS after ${IDLE_S} s idle $(kb_cell redis_rss_idle) (PSS $(mb "$(med redis_pss_idle)"),"
  echo "anonymous $(mb "$(med redis_anon_idle)")). The original's targets are fixed figures: < 10 MB per node, startup < 1 s."
  echo
  echo "| Measurement | peat-node | Bar (B6) | Original's target | Anchor: redis-server, empty | peat-node / redis |"
  echo "|---|--:|---|---|--:|--:|"
  echo "| Empty: exec → READY | $(us_cell empty_ready_us) | — | < 1 s: $(verdict "$(med empty_ready_us)" 1000000) | $(us_cell redis_ready_us) | $(ratio "$(med empty_ready_us)" "$(med redis_ready_us)") |"
  echo "| Empty: VmRSS at READY | $(kb_cell empty_rss_ready) | — | — | $(kb_cell redis_rss_ready) | $(ratio "$(med empty_rss_ready)" "$(med redis_rss_ready)") |"
  echo "| Empty: VmRSS after ${IDLE_S} s idle | $(kb_cell empty_rss_idle) | ≤ 16 MB: $(verdict "$(med empty_rss_idle)" 16384) | < 10 MB: $(verdict "$(med empty_rss_idle)" 10240) | $(kb_cell redis_rss_idle) | $(ratio "$(med empty_rss_idle)" "$(med redis_rss_idle)") |"
  echo "| Empty: VmHWM (peak RSS) | $(kb_cell empty_hwm) | — | — | $(kb_cell redis_hwm) | $(ratio "$(med empty_hwm)" "$(med redis_hwm)") |"
  echo "| Empty: PSS / anonymous after idle | $(mb "$(med empty_pss_idle)") / $(mb "$(med empty_anon_idle)") | — | — | $(mb "$(med redis_pss_idle)") / $(mb "$(med redis_anon_idle)") | $(ratio "$(med empty_pss_idle)" "$(med redis_pss_idle)") / $(ratio "$(med empty_anon_idle)" "$(med redis_anon_idle)") |"
  echo "| $FULL_LABEL: exec → READY | $(us_cell full_ready_us) | ≤ 1 s: $(verdict "$(med full_ready_us)" 1000000) | < 1 s: $(verdict "$(med full_ready_us)" 1000000) | — | — |"
  echo "| $FULL_LABEL: VmRSS at READY | $(kb_cell full_rss_ready) | — | — | — | — |"
  echo "| $FULL_LABEL: VmRSS after ${IDLE_S} s idle | $(kb_cell full_rss_idle) | ≤ 64 MB: $(verdict "$(med full_rss_idle)" 65536) | < 10 MB: $(verdict "$(med full_rss_idle)" 10240) | — | $(ratio "$(med full_rss_idle)" "$(med redis_rss_idle)") |"
  echo "| $FULL_LABEL: VmRSS after $GETS random GetDocument | $(kb_cell full_rss_get) | ≤ 64 MB: $(verdict "$(med full_rss_get)" 65536) | < 10 MB: $(verdict "$(med full_rss_get)" 10240) | — | $(ratio "$(med full_rss_get)" "$(med redis_rss_idle)") |"
  echo "| $FULL_LABEL: VmHWM (peak RSS, restart + gets) | $(kb_cell full_hwm) | ≤ 64 MB: $(verdict "$(med full_hwm)" 65536) | — | — | — |"
  echo "| $FULL_LABEL: PSS / anonymous after gets | $(mb "$(med full_pss_get)") / $(mb "$(med full_anon_get)") | — | — | — | — |"
  echo "| Load through the API (PutDocument, gRPC) | $LOAD_RATE docs/s | — | — | — | — |"
  echo "| Store on disk after the load | $(awk -v b="$STORE_BYTES" 'BEGIN { printf "%.1f MB", b / 1048576 }') ($(awk -v b="$STORE_BYTES" -v n="$LOAD_OK" -v r="$LOAD_RAW" 'BEGIN { printf "%.0f B/doc, %.2f× raw JSON", b / n, b / r }')) | — | — | — | — |"
  echo
  echo "Load: $LOAD_OK documents (avg $AVG_DOC B of JSON, $(awk -v b="$LOAD_RAW" 'BEGIN { printf "%.1f MB", b / 1048576 }') raw) in $LOAD_S s through"
  echo "PutDocument over gRPC (h2c; \`bench/footprint_load.mjs\`, $LOADERS Node.js processes, $INFLIGHT calls in flight in"
  echo "total, each call acknowledged after its group commit) = **$LOAD_RATE docs/s**; $LOAD_ERR errors. The loaders share"
  echo "the 2 cores with the node. Node during the load: VmRSS $(mb "$LOAD_RSS") at the end, VmHWM $(mb "$LOAD_HWM"). SIGTERM → exit $STOP_MS ms."
  if [[ $LOAD_STOPPED == true ]]; then
    echo "**The load was bounded:** after $CHECK_DOCS documents the rate projected $LOAD_PROJ s for $DOCS (budget"
    echo "$LOAD_BUDGET s), so it stopped at $LOAD_OK documents and the \"$FULL_LABEL\" rows are measured at that size, not at"
    echo "$DOCS. Extrapolated load time for $DOCS at this rate: $(awk -v n="$DOCS" -v r="$LOAD_RATE" 'BEGIN { printf "%.0f s", n / r }')."
  fi
  echo "Store files after SIGTERM: $STORE_FILES (du of the data dir: $(awk -v k="$STORE_DU" 'BEGIN { printf "%.1f MB", k / 1024 }'))."
  echo "Restarts ran with the store in the OS page cache (just written; caches are not dropped on a shared"
  echo "machine), so READY is a warm-cache figure."
  echo
  echo "GetDocument burst after each restart: $GETS calls, ids uniform over the $LOADED documents, $INFLIGHT in flight:"
  echo "$(med get_rate) calls/s (median), found $(med get_found)/$GETS, $gerr errors."
  echo
  echo "Startup phases from the node's log timestamps (median ms: identity / store open / RPC server up / → READY):"
  echo "empty $(msph empty), $FULL_LABEL $(msph full)."
  echo
  echo "RSS breakdown (/proc/PID/smaps), empty node after idle: $(smaps_split "$TMP/smaps.empty")."
  echo "Largest mappings: $(smaps_table "$TMP/smaps.empty")."
  echo
  echo "RSS breakdown, $FULL_LABEL after the GetDocument burst: $(smaps_split "$TMP/smaps.full")."
  echo "Largest mappings: $(smaps_table "$TMP/smaps.full")."
  echo
  echo "VmRSS counts every resident page mapped into the process, including clean pages of shared libraries"
  echo "(libcrypto, libprotobuf, libstdc++ …) that other processes share; PSS divides shared pages among their"
  echo "users; anonymous is the process's own memory (heap, stacks). MB = 2^20 bytes; VmHWM = \"Maximum resident"
  echo "set size\" of \`/usr/bin/time -v\`."
  if ((${#PROBLEMS[@]})); then
    echo
    echo "**Problems seen:**"
    for p in "${PROBLEMS[@]}"; do echo "- $p"; done
  fi
  echo
} >"$TMP/report.md"

bench_append
