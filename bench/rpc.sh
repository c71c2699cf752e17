#!/usr/bin/env bash
# B1: API throughput + latency of peat-node, measured next to anchors in the SAME run.
#
#   bash bench/rpc.sh            (or: make bench-rpc)
#
# One run starts, on 127.0.0.1 only:
#   - peat-node (build/peat-node, or $PEAT_NODE) on a free port with a temporary data dir;
#   - redis-server on a free port (--save '' --appendonly no): anchor for one-in-flight rows;
#   - bench/echo/grpc_echo_server.cc (Boost.Asio + nghttp2, fixed gRPC answer): anchor for
#     multiplexed rows. Uses the CMake target bench_grpc_echo if it is built, else compiles it with
#     g++ (cached by source hash under ~/.cache/peat-bench).
# and measures, REPS times each, interleaved (so background noise hits every row alike):
#   - gRPC (h2load, prepared length-prefixed bodies) at -c 50 -m 1 and -c 10 -m 10;
#   - Connect JSON over HTTP/1.1 (wrk -c 50, POST script) and over h2c (h2load -c 50 -m 1);
#   - redis-benchmark -c 50 -P 1 -t get,set; the echo server with h2load -c 10 -m 10.
# Each figure is the median over the repetitions; p50/p99 come from h2load's per-request
# --log-file, wrk's --latency distribution and redis-benchmark's --csv. h2load counts only HTTP
# :status, so grpc-status is checked separately (one call before, nghttp -m 200 during load).
#
# Rows for GetDocument (hot) / PutDocument are declared below and switch on by themselves once those
# RPCs stop answering UNIMPLEMENTED. h2load sends one fixed body, so its PutDocument rows measure an
# identical re-put (a no-op the store does not commit); the wrk row changes a field on every request
# (bench/lua/put_changing.lua) and is the durable-write figure compared with Redis SET.
#
# Knobs (env): BENCH_DURATION (s per measured run, 5), BENCH_WARMUP (s, 1), BENCH_REPS (3),
# BENCH_REDIS_N (requests per redis-benchmark test, 150000), BENCH_THREADS (load-generator threads,
# 1), BENCH_OUT (docs/BENCHMARKS.md; empty = do not append), BENCH_KEEP=1 (keep the temp dir with
# raw tool outputs), PEAT_NODE, ECHO_BIN.
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
PROTO_DIR=$ROOT/proto
PROTO_FILE=peat/sidecar/v1/sidecar.proto
SERVICE=peat.sidecar.v1.PeatSidecar
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
REPS=${BENCH_REPS:-3}
REDIS_N=${BENCH_REDIS_N:-150000}
LOAD_THREADS=${BENCH_THREADS:-1}
OUT_MD=${BENCH_OUT-$ROOT/docs/BENCHMARKS.md}
ECHO_SRC=$ROOT/bench/echo/grpc_echo_server.cc

START_S=$(date +%s)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '[rpc.sh %3ds] %s\n' "$(($(date +%s) - START_S))" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

for tool in h2load nghttp wrk redis-server redis-benchmark curl protoc awk sort; do
  command -v "$tool" >/dev/null || die "$tool not found (make deps installs nghttp2-client, wrk, redis-server, protobuf-compiler)"
done
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"

TMP=$(mktemp -d /tmp/peat-bench-rpc.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
# Servers

# Wait (≤ 10 s) for "listening on tcp://127.0.0.1:PORT" in a stderr file; print PORT.
wait_listen() {
  local errfile=$1 pid=$2 i port
  for ((i = 0; i < 100; i++)); do
    port=$(grep -o 'listening on tcp://127\.0\.0\.1:[0-9]*' "$errfile" 2>/dev/null | head -1 | sed 's/.*://' || true)
    if [[ -n $port ]]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$errfile" >&2
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_peat() {
  mkdir -p "$TMP/peat-data"
  "$PEAT_NODE" --listen tcp://127.0.0.1:0 --data-dir "$TMP/peat-data" 2>"$TMP/peat.err" >/dev/null &
  PEAT_PID=$!
  PIDS+=("$PEAT_PID")
  PEAT_PORT=$(wait_listen "$TMP/peat.err" "$PEAT_PID") || die "peat-node did not start"
}

# redis-server cannot pick its own port and report it: try up to 10 random free ports.
start_redis() {
  local attempt port i
  for ((attempt = 0; attempt < 10; attempt++)); do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" && continue
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --protected-mode yes \
      --daemonize no --logfile "$TMP/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    for ((i = 0; i < 50; i++)); do
      if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
        PIDS+=("$REDIS_PID")
        REDIS_PORT=$port
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  done
  die "redis-server did not start"
}

# The echo binary: $ECHO_BIN, the CMake target in build/, else a cached g++ build.
echo_binary() {
  if [[ -n ${ECHO_BIN:-} ]]; then
    echo "$ECHO_BIN"
    return
  fi
  local built=$ROOT/build/bench/bench_grpc_echo
  if [[ -x $built && $built -nt $ECHO_SRC ]]; then
    echo "$built"
    return
  fi
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/peat-bench hash
  hash=$(sha256sum "$ECHO_SRC" | cut -c1-16)
  if [[ ! -x $cache/grpc_echo_server.$hash ]]; then
    mkdir -p "$cache"
    log "compiling the echo server (g++ -O2, once per source version)"
    g++ -O2 -std=c++20 -DNDEBUG "$ECHO_SRC" -lnghttp2 -pthread -o "$cache/grpc_echo_server.$hash.tmp" ||
      die "cannot compile $ECHO_SRC (needs libboost-dev, libnghttp2-dev)"
    mv "$cache/grpc_echo_server.$hash.tmp" "$cache/grpc_echo_server.$hash"
  fi
  echo "$cache/grpc_echo_server.$hash"
}

start_echo() {
  local bin
  bin=$(echo_binary)
  "$bin" 2>"$TMP/echo.err" >/dev/null &
  ECHO_PID=$!
  PIDS+=("$ECHO_PID")
  ECHO_PORT=$(wait_listen "$TMP/echo.err" "$ECHO_PID") || die "echo server did not start"
}

# ------------------------------------------------------------------------------------------------
# Request bodies: text-format protos encoded with protoc and framed for gRPC (0 + BE u32 length),
# and the same request as Connect JSON.

declare -A BODY_TEXT BODY_JSON
BODY_TEXT[empty]=''
BODY_JSON[empty]='{}'
DOC_JSON='{"name":"bench","kind":"track","lat":59.3293,"lon":18.0686,"alt":42.5,"speed":12.75,"heading":271,"status":"ACTIVE","tags":["alpha","bravo","charlie"],"seq":1,"owner":"node-a","note":"~300 byte document for B1 put/get rows"}'
DOC_JSON_ESC=${DOC_JSON//\\/\\\\}
DOC_JSON_ESC=${DOC_JSON_ESC//\"/\\\"}
BODY_TEXT[getdoc]='collection: "bench" doc_id: "hot"'
BODY_JSON[getdoc]='{"collection":"bench","docId":"hot"}'
BODY_TEXT[putdoc]="collection: \"bench\" doc_id: \"put\" json_data: \"$DOC_JSON_ESC\""
BODY_JSON[putdoc]="{\"collection\":\"bench\",\"docId\":\"put\",\"jsonData\":\"$DOC_JSON_ESC\"}"

# make_grpc_body NAME TYPE -> $TMP/NAME.grpc
make_grpc_body() {
  local name=$1 type=$2 len
  printf '%s\n' "${BODY_TEXT[$name]}" |
    protoc --encode="peat.sidecar.v1.$type" -I "$PROTO_DIR" "$PROTO_DIR/$PROTO_FILE" >"$TMP/$name.pb"
  len=$(stat -c %s "$TMP/$name.pb")
  {
    printf '\x00'
    printf '%b' "\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))"
    printf '%b' "\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))"
    cat "$TMP/$name.pb"
  } >"$TMP/$name.grpc"
  printf '%s' "${BODY_JSON[$name]}" >"$TMP/$name.json"
}

# ------------------------------------------------------------------------------------------------
# Cases. One line each: id | protocol/transport label | kind | rpc | body | -c | -m | anchor.
#   kind: grpc (h2load, gRPC), h2json (h2load, Connect JSON over h2c), h1json (wrk, Connect JSON
#   over HTTP/1.1). anchor: redis_get | redis_set | echo.
# A case whose RPC answers UNIMPLEMENTED is skipped (and listed under the table).
CASES=(
  "grpc_status_1|gRPC (h2c)|grpc|GetStatus|empty|50|1|redis_get"
  "grpc_status_m|gRPC (h2c)|grpc|GetStatus|empty|10|10|echo"
  "h1json_status|Connect JSON (HTTP/1.1, wrk)|h1json|GetStatus|empty|50|1|redis_get"
  "h2json_status|Connect JSON (h2c)|h2json|GetStatus|empty|50|1|redis_get"
  "grpc_get_1|gRPC (h2c)|grpc|GetDocument|getdoc|50|1|redis_get"
  "grpc_get_m|gRPC (h2c)|grpc|GetDocument|getdoc|10|10|echo"
  "h1json_get|Connect JSON (HTTP/1.1, wrk)|h1json|GetDocument|getdoc|50|1|redis_get"
  "h2json_get|Connect JSON (h2c)|h2json|GetDocument|getdoc|50|1|redis_get"
  "grpc_put_1|gRPC (h2c), identical re-put (no-op)|grpc|PutDocument|putdoc|50|1|redis_set"
  "grpc_put_m|gRPC (h2c), identical re-put (no-op)|grpc|PutDocument|putdoc|10|10|echo"
  "h1json_put|Connect JSON (HTTP/1.1, wrk), one field changed per request (durable write)|h1json|PutDocument|putdoc|50|1|redis_set"
)
declare -A RPC_REQ_TYPE=([GetStatus]=GetStatusRequest [GetDocument]=GetDocumentRequest
  [PutDocument]=PutDocumentRequest)
declare -A ANCHOR_LABEL=([redis_get]="Redis GET" [redis_set]="Redis SET" [echo]="echo server")
# Bars (BENCHMARKS.md B1): one-in-flight Get ≥ 1× Redis GET, durable Put ≥ 0.5× Redis SET,
# multiplexed ≥ 0.6× the echo floor.
declare -A ANCHOR_BAR=([redis_get]=1 [redis_set]=0.5 [echo]=0.6)

url() { echo "http://127.0.0.1:$PEAT_PORT/$SERVICE/$1"; }

# grpc_status_of RPC BODYNAME -> prints the grpc-status trailer (or "none")
grpc_status_of() {
  local out
  out=$(curl -sS --max-time 5 --http2-prior-knowledge -D - -o /dev/null \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary "@$TMP/$2.grpc" "$(url "$1")" 2>&1 || true)
  grep -io '^grpc-status: *[0-9]*' <<<"$out" | head -1 | sed 's/.*: *//' | grep . || echo none
}

# ------------------------------------------------------------------------------------------------
# Measurement runners. Each prints: "rps p50_ms p99_ms errors" (errors = failed requests + non-2xx).

# p50/p99 (ms) of column 3 (µs) of an h2load --log-file; writes the count of failed rows to $1.bad.
# Status 0 is not a failure: it marks a request whose response headers arrived during the warm-up
# (h2load resets its stats there) and that completed in the measured window (at most the requests in flight then).
log_stats() {
  awk -F'\t' '$2 != 200 && $2 != 0 { bad++ } END { print bad + 0 }' "$1" >"$1.bad"
  cut -f3 "$1" | sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan nan"; exit }
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
      printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }'
}

run_h2load() { # URL BODYFILE CONTENT_TYPE C M [extra header]
  local url=$1 body=$2 ct=$3 c=$4 m=$5 out rps lat bad failed
  local -a hdr=(-H "content-type: $ct")
  [[ $ct == application/grpc ]] && hdr+=(-H 'te: trailers')
  rm -f "$TMP/h2.log"
  out=$(timeout $((DURATION + WARMUP + 30)) h2load -t "$LOAD_THREADS" -c "$c" -m "$m" \
    -D "$DURATION" --warm-up-time "$WARMUP" -d "$body" "${hdr[@]}" \
    --log-file "$TMP/h2.log" "$url" 2>&1) || true
  echo "$out" >>"$TMP/h2load.all"
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  failed=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3/p' <<<"$out" |
    awk '{ print $1 + $2 + $3 }')
  if [[ -s $TMP/h2.log ]]; then
    lat=$(log_stats "$TMP/h2.log")
    bad=$(cat "$TMP/h2.log.bad")
  else
    lat="nan nan"
    bad=0
  fi
  if ((${failed:-0} + bad > 0)); then
    {
      printf '%s -c %s -m %s (%s): h2load "%s", "%s"' "$url" "$c" "$m" "$ct" \
        "$(grep '^requests:' <<<"$out")" "$(grep '^status codes:' <<<"$out")"
      printf '; --log-file rows by status: %s\n' \
        "$(awk -F'\t' '$2 != 200 && $2 != 0 { n[$2]++ } END { for (s in n) printf "%s×%d ", s, n[s] }' "$TMP/h2.log")"
    } >>"$TMP/errors.txt"
    cp "$TMP/h2.log" "$TMP/h2.log.err.$(date +%s%N)"
  fi
  echo "${rps:-0} $lat $((${failed:-0} + bad))"
}

# wrk latency "1.23ms" / "850.00us" / "1.02s" -> ms
to_ms() { awk -v x="$1" 'BEGIN { v = x + 0; if (x ~ /us$/) v /= 1000; else if (x ~ /[^m]s$/) v *= 1000; printf "%.3f", v }'; }

run_wrk() { # URL BODYFILE C
  local url=$1 body=$2 c=$3 out rps p50 p99 non2xx sockerr
  if [[ $body == */putdoc.json ]]; then
    # A durable write per request: every Put changes the document's "seq" field (rotating over
    # 1,000 documents), so none of them is a no-op re-put.
    cp "$ROOT/bench/lua/put_changing.lua" "$TMP/post.lua"
  else
    cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$body", "rb")
wrk.body = f:read("*a")
f:close()
EOF
  fi
  timeout $((WARMUP + 30)) wrk -t "$LOAD_THREADS" -c "$c" -d "${WARMUP}s" -s "$TMP/post.lua" "$url" >/dev/null 2>&1 || true
  out=$(timeout $((DURATION + 30)) wrk -t "$LOAD_THREADS" -c "$c" -d "${DURATION}s" --latency \
    -s "$TMP/post.lua" "$url" 2>&1) || true
  echo "$out" >>"$TMP/wrk.all"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  if ((${non2xx:-0} + ${sockerr:-0} > 0)); then
    echo "$url wrk -c $c: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ')" >>"$TMP/errors.txt"
  fi
  echo "${rps:-0} $(to_ms "${p50:-nan}") $(to_ms "${p99:-nan}") $((${non2xx:-0} + ${sockerr:-0}))"
}

# Prints two lines: "get rps p50 p99 0" and "set rps p50 p99 0".
run_redis() {
  local out
  out=$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 50 -P 1 -t get,set \
    -n "$REDIS_N" --csv 2>/dev/null) || true
  echo "$out" >>"$TMP/redis.all"
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",...
  awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) gsub(/"/, "", $i); print tolower($1), $2, $5, $7, 0 }' <<<"$out"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "nan" }'; }

# ------------------------------------------------------------------------------------------------
# Run

log "starting peat-node, redis-server, echo server"
start_peat
start_redis
start_echo
log "peat-node :$PEAT_PORT  redis :$REDIS_PORT  echo :$ECHO_PORT"

make_grpc_body empty "${RPC_REQ_TYPE[GetStatus]}"
make_grpc_body getdoc "${RPC_REQ_TYPE[GetDocument]}"
make_grpc_body putdoc "${RPC_REQ_TYPE[PutDocument]}"

# Probe every RPC once over gRPC (grpc-status must be 0) and Connect JSON (HTTP 200).
declare -A RPC_OK RPC_NOTE
PROBLEMS=()
for rpc in GetStatus PutDocument GetDocument; do
  case $rpc in
    GetStatus) bodyname=empty ;;
    GetDocument) bodyname=getdoc ;;
    PutDocument) bodyname=putdoc ;;
  esac
  if [[ $rpc == GetDocument && ${RPC_OK[PutDocument]:-0} == 1 ]]; then
    # The "hot" document GetDocument reads.
    curl -sS --max-time 5 -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"collection\":\"bench\",\"docId\":\"hot\",\"jsonData\":\"$DOC_JSON_ESC\"}" "$(url PutDocument)" || true
  fi
  st=$(grpc_status_of "$rpc" "$bodyname")
  http=$(curl -sS --max-time 5 -o "$TMP/probe.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$TMP/$bodyname.json" "$(url "$rpc")" 2>/dev/null || echo 000)
  if [[ $st == 0 && $http == 200 ]]; then
    RPC_OK[$rpc]=1
  elif [[ $st == 12 ]]; then
    RPC_OK[$rpc]=0
    RPC_NOTE[$rpc]="UNIMPLEMENTED in this build (rows skipped)"
  else
    RPC_OK[$rpc]=0
    RPC_NOTE[$rpc]="probe failed: grpc-status $st, Connect JSON HTTP $http (rows skipped)"
    PROBLEMS+=("$rpc probe: grpc-status $st, Connect JSON HTTP $http: $(head -c 200 "$TMP/probe.json")")
  fi
  log "probe $rpc: grpc-status $st, Connect JSON HTTP $http"
done
[[ ${RPC_OK[GetStatus]} == 1 ]] || die "GetStatus does not answer OK; nothing to measure"

ACTIVE=()
for c in "${CASES[@]}"; do
  IFS='|' read -r id label kind rpc body conc streams anchor <<<"$c"
  [[ ${RPC_OK[$rpc]} == 1 ]] && ACTIVE+=("$c")
done

declare -A R # R[id.rep] = "rps p50 p99 errors"
GRPC_UNDER_LOAD=""
for ((rep = 1; rep <= REPS; rep++)); do
  log "repetition $rep/$REPS: redis-benchmark"
  while read -r t rps p50 p99 err; do
    [[ $t == get || $t == set ]] && R[redis_$t.$rep]="$rps $p50 $p99 $err"
  done < <(run_redis)
  log "repetition $rep/$REPS: echo server, h2load -c 10 -m 10"
  R[echo.$rep]=$(run_h2load "http://127.0.0.1:$ECHO_PORT/$SERVICE/GetStatus" "$TMP/empty.grpc" \
    application/grpc 10 10)
  for c in "${ACTIVE[@]}"; do
    IFS='|' read -r id label kind rpc body conc streams anchor <<<"$c"
    log "repetition $rep/$REPS: $label $rpc -c $conc -m $streams"
    nghttp_pid=""
    if [[ $kind == grpc && $rep == 1 ]]; then
      # grpc-status check under load: 200 calls on one connection while h2load runs.
      (
        sleep "$WARMUP"
        sleep 0.5
        timeout 20 nghttp -n -v -m 200 -d "$TMP/$body.grpc" -H 'content-type: application/grpc' \
          -H 'te: trailers' "$(url "$rpc")" >"$TMP/nghttp.$id" 2>&1 || true
      ) &
      nghttp_pid=$!
    fi
    case $kind in
      grpc) R[$id.$rep]=$(run_h2load "$(url "$rpc")" "$TMP/$body.grpc" application/grpc "$conc" "$streams") ;;
      h2json) R[$id.$rep]=$(run_h2load "$(url "$rpc")" "$TMP/$body.json" application/json "$conc" "$streams") ;;
      h1json) R[$id.$rep]=$(run_wrk "$(url "$rpc")" "$TMP/$body.json" "$conc") ;;
    esac
    if [[ -n $nghttp_pid ]]; then
      wait "$nghttp_pid" || true
      ok=$(grep -c 'grpc-status: 0$' "$TMP/nghttp.$id" || true)
      other=$(grep -o 'grpc-status: [0-9]*' "$TMP/nghttp.$id" | grep -vc 'grpc-status: 0$' || true)
      GRPC_UNDER_LOAD+="$label $rpc -c $conc -m $streams: $ok/200 grpc-status 0 under load"
      [[ $other -gt 0 ]] && GRPC_UNDER_LOAD+=", $other other"
      GRPC_UNDER_LOAD+=$'\n'
      if [[ $ok -ne 200 ]]; then
        PROBLEMS+=("$label $rpc under load: only $ok/200 nghttp calls got grpc-status 0 ($other other): $(grep -o 'grpc-status: [0-9]*\|grpc-message: .*' "$TMP/nghttp.$id" | sort | uniq -c | head -3 | tr '\n' ';')")
      fi
    fi
  done
done

# After the load: GetStatus still answers OK?
st=$(grpc_status_of GetStatus empty)
[[ $st == 0 ]] || PROBLEMS+=("GetStatus after the load: grpc-status $st")
kill -0 "$PEAT_PID" 2>/dev/null || PROBLEMS+=("peat-node exited during the run: $(tail -3 "$TMP/peat.err")")
server_warn=$(grep -ciE '\b(warn|warning|error|critical)\b' "$TMP/peat.err" || true)
if [[ $server_warn -gt 0 ]]; then
  PROBLEMS+=("peat-node logged $server_warn warning/error lines, e.g.: $(grep -iE '\b(warn|warning|error|critical)\b' "$TMP/peat.err" | head -3 | tr '\n' ' ')")
fi

if [[ -s $TMP/errors.txt ]]; then
  while IFS= read -r line; do PROBLEMS+=("errors under load: $line"); done <"$TMP/errors.txt"
fi

# ------------------------------------------------------------------------------------------------
# Report

# med ID FIELD(1=rps 2=p50 3=p99) ; errsum ID
med() {
  local id=$1 f=$2 rep vals=""
  for ((rep = 1; rep <= REPS; rep++)); do vals+="$(awk -v f="$f" '{ print $f }' <<<"${R[$id.$rep]:-nan nan nan 0}") "; done
  median <<<"$vals"
}
errsum() {
  local id=$1 rep s=0 e
  for ((rep = 1; rep <= REPS; rep++)); do
    e=$(awk '{ print $4 }' <<<"${R[$id.$rep]:-0 0 0 0}")
    s=$((s + ${e:-0}))
  done
  echo "$s"
}
fmt_rps() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else printf "%.0f", x }'; }
fmt_ms() { awk -v x="$1" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else if (x < 1) printf "%.0f µs", x * 1000; else printf "%.2f ms", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "nan") printf "%.2f", a / b; else print "n/a" }'; }
# "lo–hi" of the per-repetition ratios ID/ANCHOR (each pair measured back to back): the noise.
ratio_range() {
  local id=$1 anchor=$2 rep vals=""
  for ((rep = 1; rep <= REPS; rep++)); do
    vals+="$(ratio "$(awk '{ print $1 }' <<<"${R[$id.$rep]:-nan}")" "$(awk '{ print $1 }' <<<"${R[$anchor.$rep]:-0}")") "
  done
  tr ' ' '\n' <<<"$vals" | grep -E '^[0-9.]+$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s–%s", lo, hi; else print "n/a" }'
}

declare -A ANCHOR_RPS=([redis_get]=$(med redis_get 1) [redis_set]=$(med redis_set 1) [echo]=$(med echo 1))

UTC=$(date -u '+%Y-%m-%d %H:%M UTC')
COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
CPU=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
BIN_TIME=$(date -u -r "$PEAT_NODE" '+%Y-%m-%d %H:%M UTC')
REDIS_VER=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
ELAPSED=$(($(date +%s) - START_S))

{
  echo "### B1 RPC throughput — $UTC, commit \`$COMMIT\`"
  echo
  echo "Machine: nproc $(nproc), $CPU; load average $LOADAVG_START at the start, $LOADAVG at the end (shared machine)."
  echo "peat-node: \`${PEAT_NODE#"$ROOT/"}\` built $BIN_TIME, default io-threads. Load generators:"
  echo "$LOAD_THREADS thread; ${DURATION} s measured + ${WARMUP} s warm-up per run; median of $REPS interleaved runs; script took ${ELAPSED} s."
  echo
  echo "Anchors (same run): Redis $REDIS_VER \`redis-benchmark -c 50 -P 1\` GET $(fmt_rps "${ANCHOR_RPS[redis_get]}") req/s" \
    "(p50 $(fmt_ms "$(med redis_get 2)"), p99 $(fmt_ms "$(med redis_get 3)")), SET $(fmt_rps "${ANCHOR_RPS[redis_set]}") req/s" \
    "(p50 $(fmt_ms "$(med redis_set 2)"), p99 $(fmt_ms "$(med redis_set 3)")); echo server (Asio + nghttp2, fixed gRPC answer)" \
    "\`h2load -c 10 -m 10\` $(fmt_rps "${ANCHOR_RPS[echo]}") req/s (p50 $(fmt_ms "$(med echo 2)"), p99 $(fmt_ms "$(med echo 3)"))."
  echo
  echo "| Protocol / transport | RPC | Concurrency | req/s | p50 | p99 | Ratio to anchor (bar) | Errors |"
  echo "|---|---|---|--:|--:|--:|---|--:|"
  for c in "${ACTIVE[@]}"; do
    IFS='|' read -r id label kind rpc body conc streams anchor <<<"$c"
    rps=$(med "$id" 1)
    echo "| $label | $rpc | -c $conc -m $streams | $(fmt_rps "$rps") | $(fmt_ms "$(med "$id" 2)") | $(fmt_ms "$(med "$id" 3)") |" \
      "$(ratio "$rps" "${ANCHOR_RPS[$anchor]}")× ${ANCHOR_LABEL[$anchor]} (runs $(ratio_range "$id" "$anchor"); bar ≥ ${ANCHOR_BAR[$anchor]}×) | $(errsum "$id") |"
  done
  echo "| *anchor* Redis GET | — | -c 50 -P 1 | $(fmt_rps "${ANCHOR_RPS[redis_get]}") | $(fmt_ms "$(med redis_get 2)") | $(fmt_ms "$(med redis_get 3)") | — | — |"
  echo "| *anchor* Redis SET | — | -c 50 -P 1 | $(fmt_rps "${ANCHOR_RPS[redis_set]}") | $(fmt_ms "$(med redis_set 2)") | $(fmt_ms "$(med redis_set 3)") | — | — |"
  echo "| *anchor* echo server, gRPC (h2c) | — | -c 10 -m 10 | $(fmt_rps "${ANCHOR_RPS[echo]}") | $(fmt_ms "$(med echo 2)") | $(fmt_ms "$(med echo 3)") | — | $(errsum echo) |"
  echo
  echo "Ratio = median req/s over the anchor's median req/s; \"runs\" = range of the per-repetition ratios (row"
  echo "and anchor from the same repetition). Errors = failed/errored/timed-out requests + non-2xx HTTP responses,"
  echo "summed over the runs."
  echo
  for rpc in GetDocument PutDocument; do
    [[ -n ${RPC_NOTE[$rpc]:-} ]] && echo "$rpc: ${RPC_NOTE[$rpc]}."
  done
  if [[ -n $GRPC_UNDER_LOAD ]]; then
    echo
    echo "grpc-status check (nghttp, during the first run of each gRPC row):"
    echo
    while IFS= read -r line; do [[ -n $line ]] && echo "- $line"; done <<<"$GRPC_UNDER_LOAD"
  fi
  if ((${#PROBLEMS[@]})); then
    echo
    echo "**Problems seen:**"
    for p in "${PROBLEMS[@]}"; do echo "- $p"; done
  fi
  echo
} >"$TMP/report.md"

cat "$TMP/report.md"

if [[ -n $OUT_MD ]]; then
  if [[ ! -f $OUT_MD ]]; then
    mkdir -p "$(dirname "$OUT_MD")"
    cat >"$OUT_MD" <<'EOF'
# Benchmark results

Every benchmark in `bench/` appends its results here (newest last). The bars each one aims at
are defined in the project's benchmark spec:

| Id | What |
|---|---|
| B1 | API throughput + latency over gRPC and Connect JSON (`bench/rpc.sh`) |
| B2 | Engine micro-benchmarks: create, put-diff, merge, render, encoded size, group commit |
| B3 | Two-node convergence, 1,000 and 10,000 documents |
| B4 | Catch-up after a partition (bytes vs. final state) |
| B5 | Propagation latency, one write → Subscribe event on the peer |
| B6 | Footprint: idle RSS, RSS and time-to-READY with 1,000,000 documents |
| B7 | DDIL link (1 Mbit/s, 200 ms RTT, 10 % loss): goodput, urgent-document latency |
| B8 | Mesh scale, N nodes of degree 3 |
| B9 | Subscribe fan-out, 100 subscribers |

Run them with `make bench` (all) or one at a time, e.g. `make bench-rpc` / `bash bench/rpc.sh`
(needs `build/peat-node`; `BENCH_OUT= bash bench/rpc.sh` prints without appending).

How to read the numbers: these machines are shared and noisy (2 cores, often with compilers
running next to the benchmark, and the load generator shares the cores with the server). Absolute
req/s vary by 2× or more between runs; what is meaningful is the **ratio** to the anchor measured
in the same run (Redis, a bare echo server on our own stack, …), taken as the median of repeated
interleaved runs. Benchmarks never fail CI on a number.

## History (newest last)

EOF
  fi
  cat "$TMP/report.md" >>"$OUT_MD"
  log "appended to ${OUT_MD#"$ROOT/"}"
fi
log "done in $(($(date +%s) - START_S)) s"
