#!/usr/bin/env bash
# tests/net/selftest.sh: end-to-end self-test of the tests/net harness (root; ~1 minute).
# Builds 3 hosts and checks connectivity, delay (RTT), one-way delay, jitter, loss, rate (a TCP
# transfer), latency of another link under that load, FIFO order across a delay change, reordering
# with jitter, partition/heal, then teardown and cleanup after failures; finally the node wrapper
# (net.test.mjs). Prints every measured figure. Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2

if [[ $(id -u) != 0 ]]; then
  echo "selftest.sh: root only" >&2
  exit 2
fi

export PEATNET_ID=selftest
export PEATNET_SEED=${PEATNET_SEED:-12345}
# shellcheck source=hosts.sh
source tests/net/hosts.sh

TMP=$(mktemp -d /tmp/peatnet-selftest.XXXXXX)
pass=0
fail=0
ok() {
  echo "ok   - $*"
  pass=$((pass + 1))
}
bad() {
  echo "FAIL - $*"
  fail=$((fail + 1))
}
check() { # check DESCRIPTION COMMAND...
  local d=$1
  shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
gone() { # gone PID: not running (a zombie counts as gone: PID 1 may reap late)
  [[ ! -e /proc/$1/stat ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]
}
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }
jget() { # jget JSON KEY: a top-level number/bool of a flat JSON object
  grep -o "\"$2\":[^,}]*" <<<"$1" | head -1 | cut -d: -f2
}
ping_json() { peatnet_ping "$@" -q | tail -1; }
wait_ready() { # wait_ready FILE: a receiver printed READY
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q READY "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
node_tool() { # node_tool HOST ARGS...: tests/net/nettool.mjs inside HOST
  local h=$1
  shift
  peatnet_exec "$h" node tests/net/nettool.mjs "$@"
}
link_stat() { # link_stat A B KEY
  local s
  s=$(peatnet_stats "$1" "$2")
  grep -o "\"$3\":[0-9]*" <<<"$s" | head -1 | cut -d: -f2
}

echo "# netem-lite: $(peatnet_bin)"
t_start=$SECONDS

# ---------------------------------------------------------------------------------------------
echo "# 1. three hosts"
if ! peatnet_up 3; then
  bad "peatnet_up 3"
  echo "$pass passed, $fail failed"
  exit 1
fi
ok "peatnet_up 3 (emulator pid $(cat "$(peatnet_run_dir)/netem.pid"))"
check "three namespaces exist" test "$(ip netns list | grep -c '^peatnet-selftest-h[123]\b')" = 3
check "h2 has 10.77.0.2/24 on peat0" bash -c "ip -n peatnet-selftest-h2 -o -4 addr show dev peat0 | grep -q '10.77.0.2/24'"

all_ok=1
for a in h1 h2 h3; do
  for b in h1 h2 h3; do
    [[ $a == "$b" ]] && continue
    r=$(ping_json "$a" "$b" -c 3 -i 0.05)
    [[ $(jget "$r" received) == 3 ]] || {
      all_ok=0
      echo "#   $a -> $b: $r"
    }
  done
done
check "ping between every pair (3/3 each)" test $all_ok = 1

# ---------------------------------------------------------------------------------------------
echo "# 2. delay"
peatnet_set h1 h2 delay_ms=100
r=$(ping_json h1 h2 -c 20 -i 0.1)
echo "#   h1<->h2 delay_ms=100 each way, 20 pings: $r"
check "RTT avg within 200 +/- 2 ms" between "$(jget "$r" avg_ms)" 198 202
check "RTT min >= 199 ms and max <= 204 ms" bash -c "awk -v a=$(jget "$r" min_ms) -v b=$(jget "$r" max_ms) 'BEGIN{exit !(a>=199 && b<=204)}'"

peatnet_reset
peatnet_set h1 h2 oneway=true delay_ms=100
r=$(ping_json h1 h2 -c 10 -i 0.1)
echo "#   h1->h2 only (oneway) delay_ms=100: $r"
check "one-way delay: RTT avg within 100 +/- 2 ms" between "$(jget "$r" avg_ms)" 98 102

peatnet_reset
peatnet_set h1 h3 delay_ms=50 jitter_ms=10
r=$(ping_json h1 h3 -c 50 -i 0.02)
echo "#   h1<->h3 delay_ms=50 jitter_ms=10, 50 pings: $r"
check "jitter: RTT within [80, 121] ms" bash -c "awk -v a=$(jget "$r" min_ms) -v b=$(jget "$r" max_ms) 'BEGIN{exit !(a>=79.5 && b<=121)}'"
check "jitter: RTT mdev >= 3 ms" between "$(jget "$r" mdev_ms)" 3 100

# ---------------------------------------------------------------------------------------------
echo "# 3. loss"
peatnet_reset
peatnet_reset_stats
peatnet_set h1 h2 oneway=true loss=0.1
r=$(ping_json h1 h2 -c 200 -i 0.01 -W 1)
in=$(link_stat h1 h2 in_pkts)
dropped=$(link_stat h1 h2 drop_loss)
echo "#   h1->h2 loss=0.1, 200 pings: $r; emulator h1->h2: $dropped of $in dropped"
check "ping loss within [0.03, 0.20]" between "$(jget "$r" loss)" 0.03 0.20
check "emulator drop_loss/in_pkts within [0.03, 0.20]" between "$(awk -v d="$dropped" -v n="$in" 'BEGIN{print d/n}')" 0.03 0.20

# ---------------------------------------------------------------------------------------------
echo "# 4. rate (TCP h1->h2 at rate_kbit=1000) and latency of h3<->h2 (delay 100 ms) under load"
peatnet_reset
peatnet_reset_stats
peatnet_set h1 h2 rate_kbit=1000
peatnet_set h2 h3 delay_ms=100
node_tool h2 tcp-recv --bind 10.77.0.2 --port 5001 --seconds 8 >"$TMP/recv.out" 2>&1 &
if wait_ready "$TMP/recv.out"; then
  peatnet_ping h3 h2 -c 60 -i 0.1 >"$TMP/ping.out" 2>&1 &
  ping_pid=$!
  node_tool h1 tcp-send --to 10.77.0.2 --port 5001 --seconds 30
  wait $ping_pid
  wait
  r=$(grep '^{' "$TMP/recv.out")
  kbit=$(jget "$r" kbit)
  echo "#   TCP goodput: $r"
  echo "#   h1->h2: $(peatnet_stats h1 h2 | grep -o '"in_pkts.*"backlog_bytes":[0-9]*')"
  check "TCP goodput within 0.5x-1.1x of 1000 kbit/s ($(awk -v k="$kbit" 'BEGIN{printf "%.3f", k/1000}')x)" between "$kbit" 500 1100
  r=$(tail -1 "$TMP/ping.out")
  # Median and 90th percentile of the per-ping RTTs (nearest rank).
  pct=$(grep -o 'time=[0-9.]*' "$TMP/ping.out" | cut -d= -f2 | sort -n |
    awk '{v[NR]=$1} END{if (NR == 0) {print "0 0"; exit} printf "%s %s", v[int((NR+1)/2)], v[int(NR*0.9+0.999)]}')
  p50=${pct% *}
  p90=${pct#* }
  echo "#   h3<->h2 during the transfer, 60 pings: $r; p50_ms=$p50 p90_ms=$p90"
  echo "#   emulator lateness: $(peatnet_stats | grep -o '"late_avg_us.*')"
  # The emulator is a user-space process on shared cores: scheduling stalls of the host (up to
  # 25 ms seen on a 2-core machine, and on a loaded CI machine 10 % of the pings 6-9 ms late)
  # delay the packets in flight at that moment. Queueing behind the other link's flow would delay
  # every ping by a full queue (64 KiB at 1000 kbit/s: up to 524 ms) and each waiting ping by at
  # least one 1500-byte packet (12 ms): so the median stays below half a packet's time (a loaded
  # CI machine once put it at 203.0 ms: the host, not a queue), the 90th percentile below one
  # packet's time, and the max only bounds a stall.
  check "RTT under load: p50 within 198-206 ms, p90 < 212 ms, max <= 240 ms (p50 $p50, p90 $p90)" bash -c "awk -v m=$p50 -v n=$p90 -v b=$(jget "$r" max_ms) 'BEGIN{exit !(m>=198 && m<206 && n<212 && b<=240)}'"
else
  bad "TCP receiver did not start: $(cat "$TMP/recv.out")"
fi

# ---------------------------------------------------------------------------------------------
echo "# 5. order"
peatnet_reset
peatnet_set h1 h2 delay_ms=100
node_tool h2 udp-recv --bind 10.77.0.2 --port 5002 >"$TMP/udp.out" 2>&1 &
wait_ready "$TMP/udp.out"
(
  sleep 0.5
  peatnet_set h1 h2 delay_ms=0
) &
node_tool h1 udp-send --to 10.77.0.2 --port 5002 --count 500 --interval-ms 2
wait
r=$(grep '^{' "$TMP/udp.out")
echo "#   500 datagrams h1->h2, delay 100 -> 0 ms mid-stream: $r"
check "no jitter: FIFO kept across a delay decrease (0 inversions, 500 received)" \
  test "$(jget "$r" inversions):$(jget "$r" received)" = "0:500"

peatnet_set h1 h2 delay_ms=20 jitter_ms=10
node_tool h2 udp-recv --bind 10.77.0.2 --port 5003 >"$TMP/udp2.out" 2>&1 &
wait_ready "$TMP/udp2.out"
node_tool h1 udp-send --to 10.77.0.2 --port 5003 --count 500 --interval-ms 1
wait
r=$(grep '^{' "$TMP/udp2.out")
echo "#   jitter_ms=10 (reorder allowed): $r"
check "jitter reorders packets (inversions > 0)" test "$(jget "$r" inversions)" -gt 0

peatnet_set h1 h2 reorder=false
node_tool h2 udp-recv --bind 10.77.0.2 --port 5004 >"$TMP/udp3.out" 2>&1 &
wait_ready "$TMP/udp3.out"
node_tool h1 udp-send --to 10.77.0.2 --port 5004 --count 500 --interval-ms 1
wait
r=$(grep '^{' "$TMP/udp3.out")
echo "#   jitter_ms=10 reorder=false: $r"
check "jitter with reorder=false keeps order (0 inversions)" test "$(jget "$r" inversions)" = 0

# ---------------------------------------------------------------------------------------------
echo "# 6. partition"
peatnet_reset
peatnet_partition h1 "h2 h3"
r12=$(ping_json h1 h2 -c 5 -i 0.05 -W 0.5)
r13=$(ping_json h1 h3 -c 5 -i 0.05 -W 0.5)
r23=$(ping_json h2 h3 -c 5 -i 0.05)
echo "#   partition h1 | h2 h3: h1->h2 $r12; h1->h3 $r13; h2->h3 $r23"
check "partition: h1 cannot reach h2 or h3" test "$(jget "$r12" received):$(jget "$r13" received)" = "0:0"
check "partition: h2 and h3 still reach each other" test "$(jget "$r23" received)" = 5
peatnet_heal
r=$(ping_json h1 h2 -c 5 -i 0.05)
check "heal: h1 reaches h2 again ($(jget "$r" received)/5)" test "$(jget "$r" received)" = 5

peatnet_set h1 h2 delay_ms=300
ping_json h1 h2 -c 1 -W 1 >"$TMP/inflight.out" &
sleep 0.1 # the echo request is now on the wire
peatnet_set h1 h2 up=false
peatnet_set h1 h2 up=true
wait
r=$(cat "$TMP/inflight.out")
check "a link cut loses what is in flight, even if it comes back at once" test "$(jget "$r" received)" = 0

# ---------------------------------------------------------------------------------------------
echo "# 7. teardown"
sleeper=$( (peatnet_exec h2 sleep 1000 >/dev/null 2>&1 & echo $!))
emu=$(cat "$(peatnet_run_dir)/netem.pid")
sleep 0.2
peatnet_down
check "after peatnet_down: no namespace, emulator or state left" bash tests/net/cleanup.sh --check selftest
check "a process left running inside a host was killed" gone "$sleeper"
check "the emulator process is gone" gone "$emu"

# A test script that fails half-way (set -e) still cleans up through the EXIT trap.
PEATNET_ID=selftest-fail bash -c '
  set -e
  source tests/net/hosts.sh
  peatnet_up 2
  peatnet_exec h1 sleep 1000 &
  false
  echo "not reached"
' >"$TMP/fail.out" 2>&1
rc=$?
check "failing script exits non-zero ($rc)" test $rc -ne 0
check "failing script left nothing behind (EXIT trap)" bash tests/net/cleanup.sh --check selftest-fail

# A script killed by SIGTERM cleans up too (bash runs the trap once the current foreground
# command returns: hence `sleep & wait`).
PEATNET_ID=selftest-term bash -c '
  source tests/net/hosts.sh
  peatnet_up 2
  echo up
  sleep 1000 &
  wait $!
' >"$TMP/term.out" 2>&1 &
term_pid=$!
for ((i = 0; i < 100; i++)); do grep -q up "$TMP/term.out" && break; sleep 0.05; done
kill -TERM $term_pid
wait $term_pid 2>/dev/null
check "SIGTERM'd script left nothing behind (EXIT trap)" bash tests/net/cleanup.sh --check selftest-term

# A script killed by SIGKILL runs no trap: the emulator (--die-with-parent) removes the instance.
PEATNET_ID=selftest-kill bash -c '
  source tests/net/hosts.sh
  peatnet_up 2
  peatnet_exec h1 sleep 1000 &
  echo up
  sleep 1000
' >"$TMP/kill.out" 2>&1 &
kill_pid=$!
for ((i = 0; i < 100; i++)); do grep -q up "$TMP/kill.out" && break; sleep 0.05; done
kill -KILL $kill_pid
wait $kill_pid 2>/dev/null
for ((i = 0; i < 100; i++)); do
  bash tests/net/cleanup.sh --check selftest-kill >/dev/null && break
  sleep 0.1
done
check "SIGKILL'd script left nothing behind (emulator's own cleanup)" bash tests/net/cleanup.sh --check selftest-kill
bash tests/net/cleanup.sh selftest-kill

# The emulator itself, killed by a signal, removes its instance (on-exit cleanup.sh).
PEATNET_ID=selftest-emu PEATNET_TRAP=0 peatnet_up 2 >/dev/null
emu=$(cat /run/peatnet/selftest-emu/netem.pid)
( (PEATNET_ID=selftest-emu peatnet_exec h1 sleep 1000 >/dev/null 2>&1 &) )
sleep 0.2
kill -TERM "$emu"
for ((i = 0; i < 100; i++)); do gone "$emu" && break; sleep 0.05; done
check "emulator killed by SIGTERM removed its instance itself" bash tests/net/cleanup.sh --check selftest-emu
bash tests/net/cleanup.sh selftest-emu

# ---------------------------------------------------------------------------------------------
echo "# 8. node wrapper (tests/net/net.test.mjs)"
if node --test --test-reporter=spec tests/net/net.test.mjs >"$TMP/node.out" 2>&1; then
  ok "node --test tests/net/net.test.mjs"
else
  bad "node --test tests/net/net.test.mjs"
fi
grep -E '^(#|✔|✖)|^ℹ (pass|fail)' "$TMP/node.out" | sed 's/^/#   /'

for id in selftest selftest-fail selftest-term selftest-kill selftest-emu; do
  check "nothing of instance $id is left" bash tests/net/cleanup.sh --check $id
done
rm -rf "$TMP"
echo "# selftest took $((SECONDS - t_start)) s"
echo "$pass passed, $fail failed"
((fail == 0))
