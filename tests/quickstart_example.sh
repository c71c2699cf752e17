#!/usr/bin/env bash
# Scenario: examples/quickstart works as its README says: start.sh -> bootstrap.sh -> demo.sh ->
# send-file.sh -> stop.sh --clean, plus the idempotent reruns (start and bootstrap twice, demo twice, stop twice).
# Ports are chosen free by the OS (bind to port 0) so the run never collides with anything, and
# state goes to a temporary directory instead of examples/quickstart/.data.
# PEAT_NODE_BIN (set by CTest) is used as is; without it, start.sh builds build/peat-node if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

qs=examples/quickstart
name=quickstart_example
fail() {
  echo "$name: FAIL: $*" >&2
  exit 1
}

# Four distinct free TCP ports on 127.0.0.1: all bound at once (so they differ), then released.
free_ports() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
  elif command -v node >/dev/null 2>&1; then
    node -e '
const net = require("net");
Promise.all([0, 1, 2, 3].map(() => new Promise((ok, ko) => {
  const s = net.createServer(); s.on("error", ko); s.listen(0, "127.0.0.1", () => ok(s));
}))).then((ss) => { console.log(ss.map((s) => s.address().port).join(" ")); ss.forEach((s) => s.close()); });'
  else
    fail "need python3 or node to ask the OS for free ports"
  fi
}

read -r a_api b_api a_mesh b_mesh <<<"$(free_ports)"
[ -n "$b_mesh" ] || fail "could not get four free ports"
export PEAT_QS_A_API_PORT=$a_api PEAT_QS_B_API_PORT=$b_api
export PEAT_QS_A_MESH_PORT=$a_mesh PEAT_QS_B_MESH_PORT=$b_mesh
export PEAT_QS_DATA_DIR
PEAT_QS_DATA_DIR=$(mktemp -d /tmp/peat-quickstart-example.XXXXXX)
echo "$name: API ports $a_api/$b_api, mesh ports $a_mesh/$b_mesh, state in $PEAT_QS_DATA_DIR"

out=$(mktemp /tmp/peat-quickstart-example-out.XXXXXX)
finished=false
cleanup() {
  if ! $finished; then
    for log in "$PEAT_QS_DATA_DIR"/*.log; do
      [ -f "$log" ] || continue
      echo "--- $log ---"
      cat "$log"
    done
    bash "$qs/stop.sh" --clean >/dev/null 2>&1 || true
  fi
  rm -rf "$PEAT_QS_DATA_DIR" "$out"
}
trap cleanup EXIT

# step SCRIPT [ARGS]: run one of the example's scripts, echo its output, fail on a non-zero exit.
step() {
  local script=$1 rc=0
  shift
  echo "=== $qs/$script${*:+ $*}"
  bash "$qs/$script" "$@" 2>&1 | tee "$out" || rc=$?
  [ "$rc" -eq 0 ] || fail "$qs/$script${*:+ $*} exited $rc"
}
pid_of() { cat "$PEAT_QS_DATA_DIR/$1.pid"; }

step start.sh
pid_a=$(pid_of alpha)
pid_b=$(pid_of bravo)
step start.sh # again: both already running, nothing restarted
grep -q "alpha already running" "$out" || fail "second start.sh did not find alpha running"
if [ "$(pid_of alpha)" != "$pid_a" ] || [ "$(pid_of bravo)" != "$pid_b" ]; then
  fail "second start.sh restarted a node"
fi

# Before bootstrap bravo does not sync: demo must refuse with a pointer to bootstrap.sh.
rc=0
bash "$qs/demo.sh" >"$out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] || ! grep -q "run ./bootstrap.sh first" "$out"; then
  fail "demo.sh before bootstrap.sh: expected a 'run ./bootstrap.sh first' error, got rc=$rc: $(cat "$out")"
fi

step bootstrap.sh
grep -q '"connected": true' "$out" || fail "bootstrap.sh did not print a connected peer"
step bootstrap.sh # again: same ConnectPeer/StartSync, still fine

step demo.sh
grep -q "arrived on bravo" "$out" || fail "demo.sh did not report the arrival on bravo"
grep -q "arrived on alpha" "$out" || fail "demo.sh did not report the arrival on alpha"
step demo.sh # again: a new version must travel again (not be mistaken for the previous run's)
grep -q "^demo.sh: OK" "$out" || fail "second demo.sh did not finish OK"

step send-file.sh
grep -q "appeared in bravo's inbox" "$out" || fail "send-file.sh did not report the file in bravo's inbox"
step send-file.sh # again: new content, a new distribution

step stop.sh --clean
for pid in "$pid_a" "$pid_b"; do
  if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    fail "pid $pid still running after stop.sh"
  fi
done
[ ! -e "$PEAT_QS_DATA_DIR" ] || fail "stop.sh --clean left $PEAT_QS_DATA_DIR"
step stop.sh # again: nothing running is not an error
finished=true
echo "$name: PASS (start, bootstrap, demo both ways, stop --clean; reruns idempotent)"
