#!/usr/bin/env bash
# Stops the quickstart nodes: SIGTERM (the node drains: pending writes reach the peer, sessions
# close), then waits for the processes to exit. A node still running after the timeout
# (PEAT_QS_STOP_TIMEOUT, 20 s; the node's own drain budget is 10 s) is killed and the script
# fails.
#   ./stop.sh           stop; keep .data (stores, logs, shared key) for the next ./start.sh
#   ./stop.sh --clean   stop and delete .data
# Idempotent: nothing running is not an error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

clean=false
for arg in "$@"; do
  case $arg in
    --clean) clean=true ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: stop.sh [--clean])" ;;
  esac
done

timeout=${PEAT_QS_STOP_TIMEOUT:-20}
declare -A pids=()
for node in "${QS_NODES[@]}"; do
  if pid=$(node_pid "$node"); then
    say "stopping $node (pid $pid): SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    pids[$node]=$pid
  else
    say "$node is not running"
  fi
done

status=0
deadline=$(($(now_ms) + timeout * 1000))
for node in "${!pids[@]}"; do
  killed=false
  while node_pid "$node" >/dev/null; do
    if [ "$(now_ms)" -ge "$deadline" ]; then
      warn "$node (pid ${pids[$node]}) still running ${timeout} s after SIGTERM: SIGKILL"
      log_tail "$node"
      kill -KILL "${pids[$node]}" 2>/dev/null || true
      status=1
      killed=true
      break
    fi
    sleep 0.05
  done
  $killed || say "$node stopped"
done
for node in "${QS_NODES[@]}"; do rm -f "$(pid_file "$node")"; done

if $clean; then
  if [ ! -e "$QS_DATA" ]; then
    say "nothing to clean: $QS_DATA does not exist"
  elif [ -f "$QS_MARKER" ]; then
    rm -rf -- "$QS_DATA"
    say "removed $QS_DATA"
  else
    die "not removing $QS_DATA: it was not created by start.sh (no $(basename "$QS_MARKER") in it)"
  fi
fi
exit "$status"
