#!/usr/bin/env bash
# Removes everything the tests/net harness may have created (tests/net/README.md):
#   - netem-lite emulator processes (by pidfile, and by their own command line: `netem-lite run
#     --control <run dir>/ctl.sock`),
#   - every process still running inside a harness namespace (SIGKILL),
#   - the namespaces themselves (their TUN devices go with them),
#   - the state directories under $PEATNET_RUN_ROOT (default /run/peatnet).
#
#   cleanup.sh                 every instance: all namespaces named peatnet-*
#   cleanup.sh ID              one instance (PEATNET_ID=ID; "default" for the unnamed one): the
#                              namespaces listed in $PEATNET_RUN_ROOT/ID/hosts
#   cleanup.sh --check [ID]    remove nothing; list leftovers and exit 1 if there are any
#
# Idempotent and safe to run concurrently with itself. Root only.
set -u

RUN_ROOT=${PEATNET_RUN_ROOT:-/run/peatnet}
PREFIX=peatnet-

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
id=${1:-}

if [[ $(id -u) != 0 ]]; then
  echo "cleanup.sh: must run as root" >&2
  exit 2
fi
if [[ -n $id && ! $id =~ ^[A-Za-z0-9_.-]+$ ]]; then
  echo "cleanup.sh: bad instance id '$id'" >&2
  exit 2
fi

# Namespaces of the instance (or of every instance).
namespaces() {
  local all
  all=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}" || true)
  if [[ -z $id ]]; then
    printf '%s\n' "$all" | grep . || true
    return
  fi
  # The instance's hosts file lists every namespace before it is created (hosts.sh, net.mjs).
  [[ -f $RUN_ROOT/$id/hosts ]] || return 0
  awk '{print $2}' "$RUN_ROOT/$id/hosts" | grep "^${PREFIX}" | sort -u | while read -r ns; do
    printf '%s\n' "$all" | grep -qx -- "$ns" && echo "$ns" # only those that exist
  done
  return 0
}

# What an emulator of this instance (or of any instance) has on its command line.
want="--control $RUN_ROOT/"
[[ -n $id ]] && want="--control $RUN_ROOT/$id/ctl.sock"

# Emulator pids: pidfiles plus any `netem-lite run --control $RUN_ROOT/<id>/ctl.sock`.
emulators() {
  local f pid cmd
  for f in "$RUN_ROOT"/${id:-*}/netem.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
  done
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f" || true)
    [[ $cmd == *netem-lite\ run\ * && $cmd == *"$want"* ]] || continue
    pid=${f#/proc/}
    echo "${pid%/cmdline}"
  done
}

is_emulator() { # PID: alive and really an emulator of this instance (a pidfile may be stale)
  local cmd
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true)
  [[ $cmd == *netem-lite\ run\ * && $cmd == *"$want"* ]]
}

if ((check)); then
  left=0
  for ns in $(namespaces); do
    echo "leftover namespace: $ns (pids: $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' '))"
    left=1
  done
  for pid in $(emulators | sort -u); do
    if is_emulator "$pid"; then
      echo "leftover emulator process: $pid"
      left=1
    fi
  done
  if [[ -n $id && -e $RUN_ROOT/$id ]] || [[ -z $id && -n $(ls -A "$RUN_ROOT" 2>/dev/null) ]]; then
    echo "leftover state dir: $RUN_ROOT/${id}"
    left=1
  fi
  if ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -q '^peat[0-9]'; then
    echo "leftover device in the root namespace: $(ip -o link show | awk -F': ' '{print $2}' | grep '^peat[0-9]' | tr '\n' ' ')"
    left=1
  fi
  exit $left
fi

# 1. Emulators first: no new traffic, TUNs go away with their file descriptors.
for pid in $(emulators | sort -u); do
  [[ $pid == "$$" || $pid == "${NETEM_LITE_PID:-}" ]] && continue
  is_emulator "$pid" && kill -KILL "$pid" 2>/dev/null
done

# 2. Processes inside the namespaces, then the namespaces.
for ns in $(namespaces); do
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null | grep -vx "$$")
    ((${#pids[@]})) || break
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 0.1
  done
  ip netns del "$ns" 2>/dev/null || true
done

# 3. State.
if [[ -n $id ]]; then
  rm -rf "${RUN_ROOT:?}/$id"
else
  rm -rf "${RUN_ROOT:?}"/*
fi
rmdir "$RUN_ROOT" 2>/dev/null || true
exit 0
