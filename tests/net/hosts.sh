#!/usr/bin/env bash
# tests/net/hosts.sh: N test hosts on this machine, one Linux network namespace each, joined
# pairwise by emulated links (netem-lite; tests/net/README.md). Root only.
#
# As a library (bash):
#   source tests/net/hosts.sh
#   peatnet_up 3                          # hosts h1 h2 h3 = 10.77.0.1-3; installs an EXIT trap
#   peatnet_exec h1 ip addr               # run a command inside host h1
#   peatnet_set h1 h2 delay_ms=100 loss=0.1 rate_kbit=1000     # both directions
#   peatnet_set h1 h2 oneway=true delay_ms=100                   # h1 -> h2 only
#   peatnet_set '*' '*' jitter_ms=5       # every link; a side may also be "h1,h2,h3"
#   peatnet_partition "h1 h2" "h3"        # cut every link between the groups (unlisted hosts
#   peatnet_heal                          #   form one more group); heal = every link up
#   peatnet_ping h1 h2 -c 20 -i 0.05      # ICMP echo; last line is a JSON summary
#   peatnet_stats h1 h2                   # per-link counters (JSON)
#   peatnet_down                          # tear down (the trap does it too)
#
# As a command:  tests/net/hosts.sh up 3 | down | status | exec HOST CMD... | addr HOST | ns HOST |
#                set A B k=v... | get [A [B]] | stats [A [B]] | partition "G1" "G2"... | heal |
#                reset | reset-stats | ping A B [ping args] | ctl JSON... | bin
#
# Environment:
#   PEATNET_ID        instance name (default "default"). Namespaces are peatnet-<host> for the
#                     default instance and peatnet-<id>-<host> otherwise; each instance has its own
#                     emulator and state dir, so instances can run side by side.
#   PEATNET_SUBNET    first three octets of the host addresses (default 10.77.0); host i = .i
#   PEATNET_SEED      seed for loss/jitter (default: random; logged in netem.log)
#   PEATNET_REALTIME  0 = run the emulator at nice -10 instead of SCHED_FIFO (the default)
#   PEATNET_BIN       netem-lite binary (default build/tests/net/netem-lite, else compiled once
#                     from tests/net/netem_lite.cc into $PEATNET_CACHE, default /var/tmp/peatnet-bin)
#   PEATNET_RUN_ROOT  state root (default /run/peatnet): <root>/<id>/{hosts,ctl.sock,netem.pid,netem.log}
#   PEATNET_TRAP      0 = peatnet_up installs no EXIT trap (the caller calls peatnet_down)
#   PEATNET_DETACH    1 = when sourced, the emulator does not die with the calling shell (it
#                     always outlives `hosts.sh up` run as a command); needed when peatnet_up runs
#                     in a subshell that exits before the test does

PEATNET_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEATNET_REPO=$(cd "$PEATNET_HERE/../.." && pwd)

peatnet__err() { echo "peatnet: $*" >&2; }
peatnet__id() { echo "${PEATNET_ID:-default}"; }
peatnet_run_dir() { echo "${PEATNET_RUN_ROOT:-/run/peatnet}/$(peatnet__id)"; }

# Namespace of host NAME in this instance.
peatnet_ns() {
  local id
  id=$(peatnet__id)
  if [[ $id == default ]]; then echo "peatnet-$1"; else echo "peatnet-$id-$1"; fi
}

# Path of the netem-lite binary; compiles it (once) when no build is there or it is stale.
peatnet_bin() {
  local src="$PEATNET_HERE/netem_lite.cc"
  if [[ -n ${PEATNET_BIN:-} ]]; then
    echo "$PEATNET_BIN"
    return
  fi
  local built="$PEATNET_REPO/build/tests/net/netem-lite"
  if [[ -x $built && ! $src -nt $built ]]; then
    echo "$built"
    return
  fi
  local cache=${PEATNET_CACHE:-/var/tmp/peatnet-bin}
  local out="$cache/netem-lite"
  if [[ ! -x $out || $src -nt $out ]]; then
    mkdir -p "$cache"
    local cxx=${CXX:-c++}
    if ! "$cxx" -std=c++20 -O2 -Wall -Wextra -Werror -o "$out.tmp.$$" "$src" >&2; then
      peatnet__err "could not compile $src"
      return 1
    fi
    mv -f "$out.tmp.$$" "$out"
  fi
  echo "$out"
}

peatnet__hosts_file() { echo "$(peatnet_run_dir)/hosts"; }

# Names of the hosts of the running instance.
peatnet_hosts() { awk '{print $1}' "$(peatnet__hosts_file)"; }

# Address of host NAME.
peatnet_addr() {
  local a
  a=$(awk -v h="$1" '$1 == h {print $3}' "$(peatnet__hosts_file)" 2>/dev/null)
  if [[ -z $a ]]; then
    peatnet__err "no host $1"
    return 1
  fi
  echo "$a"
}

# peatnet_exec HOST CMD [ARGS...]: run CMD inside HOST's namespace.
peatnet_exec() {
  local host=$1
  shift
  ip netns exec "$(peatnet_ns "$host")" "$@"
}

# peatnet_ctl JSON...: raw control requests; prints one JSON reply per request, fails if any failed.
peatnet_ctl() {
  "$(peatnet_bin)" ctl "$(peatnet_run_dir)/ctl.sock" "$@"
}

# A host selector as JSON: "*", "h1", or "h1,h2" (a list).
peatnet__sel() {
  if [[ $1 == *,* ]]; then
    local out="[" first=1 h
    IFS=, read -ra parts <<<"$1"
    for h in "${parts[@]}"; do
      ((first)) || out+=","
      out+="\"$h\""
      first=0
    done
    echo "$out]"
  else
    echo "\"$1\""
  fi
}

# peatnet_set A B key=value...: delay_ms jitter_ms loss rate_kbit queue_bytes up reorder oneway.
peatnet_set() {
  if (($# < 3)); then
    peatnet__err "usage: peatnet_set A B key=value..."
    return 2
  fi
  local json
  json="{\"cmd\":\"set\",\"a\":$(peatnet__sel "$1"),\"b\":$(peatnet__sel "$2")"
  shift 2
  local kv k v
  for kv in "$@"; do
    k=${kv%%=*}
    v=${kv#*=}
    if [[ $kv != *=* || ! $k =~ ^[a-z_]+$ || ! $v =~ ^(true|false|[0-9.eE+-]+)$ ]]; then
      peatnet__err "bad setting '$kv' (key=number or key=true|false)"
      return 2
    fi
    json+=",\"$k\":$v"
  done
  peatnet_ctl "$json}" >/dev/null || {
    peatnet_ctl "$json}" >&2
    return 1
  }
}

peatnet_get() { peatnet_ctl "{\"cmd\":\"get\",\"a\":$(peatnet__sel "${1:-*}"),\"b\":$(peatnet__sel "${2:-*}")}"; }
peatnet_stats() { peatnet_ctl "{\"cmd\":\"stats\",\"a\":$(peatnet__sel "${1:-*}"),\"b\":$(peatnet__sel "${2:-*}")}"; }
peatnet_heal() { peatnet_ctl '{"cmd":"heal"}' >/dev/null; }
peatnet_reset() { peatnet_ctl '{"cmd":"reset"}' >/dev/null; }
peatnet_reset_stats() { peatnet_ctl '{"cmd":"reset_stats"}' >/dev/null; }

# peatnet_partition "h1 h2" "h3" ...: each argument is one group (names separated by spaces or
# commas). Links between different groups go down, all others up; unlisted hosts form one group.
peatnet_partition() {
  local json='{"cmd":"partition","groups":[' g h first_g=1 first_h
  for g in "$@"; do
    ((first_g)) || json+=","
    first_g=0
    json+="["
    first_h=1
    for h in ${g//,/ }; do
      ((first_h)) || json+=","
      first_h=0
      json+="\"$h\""
    done
    json+="]"
  done
  peatnet_ctl "$json]}" >/dev/null || {
    peatnet_ctl "$json]}" >&2
    return 1
  }
}

# peatnet_ping A B [ping args]: ICMP echo from A to B (netem-lite ping: -c -i -W -s -q).
peatnet_ping() {
  local a=$1 b=$2
  shift 2
  local addr
  addr=$(peatnet_addr "$b") || return 1
  peatnet_exec "$a" "$(peatnet_bin)" ping "$@" "$addr"
}

# peatnet_up N | peatnet_up NAME...: create the hosts and start the emulator.
peatnet_up() {
  if [[ $(id -u) != 0 ]]; then
    peatnet__err "root only (network namespaces, TUN)"
    return 2
  fi
  if ! command -v ip >/dev/null; then
    peatnet__err "needs iproute2 (apt-get install iproute2)"
    return 2
  fi
  local -a names=()
  if (($# == 1)) && [[ $1 =~ ^[0-9]+$ ]]; then
    local i
    for ((i = 1; i <= $1; i++)); do names+=("h$i"); done
  else
    names=("$@")
  fi
  if ((${#names[@]} < 1 || ${#names[@]} > 250)); then
    peatnet__err "between 1 and 250 hosts"
    return 2
  fi
  local bin
  bin=$(peatnet_bin) || return 1
  local id dir subnet=${PEATNET_SUBNET:-10.77.0}
  id=$(peatnet__id)
  dir=$(peatnet_run_dir)
  bash "$PEATNET_HERE/cleanup.sh" "$id" # a previous run of this instance that was not torn down
  mkdir -p "$dir"
  local -a hostargs=()
  local n=0 h ns
  : >"$dir/hosts"
  for h in "${names[@]}"; do
    n=$((n + 1))
    if [[ ! $h =~ ^[A-Za-z0-9_.-]+$ ]]; then
      peatnet__err "bad host name '$h'"
      return 2
    fi
    ns=$(peatnet_ns "$h")
    # Recorded before it exists, so cleanup.sh always knows every namespace it may have to remove.
    echo "$h $ns $subnet.$n" >>"$dir/hosts"
    hostargs+=(--host "$h:$ns:$subnet.$n")
  done
  awk '{print "netns add " $2}' "$dir/hosts" | ip -batch - || {
    peatnet__err "ip netns add failed"
    bash "$PEATNET_HERE/cleanup.sh" "$id"
    return 1
  }
  local -a extra=()
  [[ -n ${PEATNET_SEED:-} ]] && extra+=(--seed "$PEATNET_SEED")
  [[ ${PEATNET_REALTIME:-1} == 0 ]] && extra+=(--no-realtime)
  # Sourced into a test script: the emulator follows the script, even one killed with SIGKILL
  # (it then removes the instance itself). As a command, it outlives `hosts.sh up`.
  if [[ ${BASH_SOURCE[0]} != "$0" && ${PEATNET_DETACH:-0} != 1 ]]; then
    extra+=(--die-with-parent)
  fi
  # In the background, so it outlives this shell when used as a command. Whenever it exits (quit
  # command, SIGTERM/SIGINT/SIGHUP) it removes the whole instance itself (cleanup.sh).
  "$bin" run --control "$dir/ctl.sock" --pidfile "$dir/netem.pid" \
    --on-exit "exec bash '$PEATNET_HERE/cleanup.sh' '$id'" "${extra[@]}" "${hostargs[@]}" \
    >"$dir/netem.out" 2>"$dir/netem.log" </dev/null &
  local pid=$! t
  disown "$pid" # not a job of the caller: a bare `wait` there must not wait for the emulator
  for ((t = 0; t < 200; t++)); do
    if grep -q '^READY' "$dir/netem.out" 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      peatnet__err "netem-lite exited during startup:"
      cat "$dir/netem.log" >&2
      bash "$PEATNET_HERE/cleanup.sh" "$id"
      return 1
    fi
    sleep 0.05
  done
  if ! peatnet_ctl '{"cmd":"ping"}' >/dev/null; then
    peatnet__err "netem-lite does not answer on $dir/ctl.sock"
    bash "$PEATNET_HERE/cleanup.sh" "$id"
    return 1
  fi
  if [[ ${PEATNET_TRAP:-1} != 0 && ${BASH_SOURCE[0]} != "$0" ]]; then
    peatnet__install_trap
  fi
}

# Chains peatnet_down in front of whatever EXIT trap the caller already has; INT/TERM exit so that
# the EXIT trap runs.
peatnet__install_trap() {
  local prev
  prev=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  [[ $prev == *peatnet_down* ]] && return
  # shellcheck disable=SC2064
  trap "peatnet_down; ${prev:-:}" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# peatnet_down: stop the emulator and remove everything of this instance.
peatnet_down() {
  local dir id pid t
  dir=$(peatnet_run_dir)
  id=$(peatnet__id)
  if [[ -f $dir/netem.pid ]]; then
    pid=$(cat "$dir/netem.pid" 2>/dev/null)
    peatnet_ctl '{"cmd":"quit"}' >/dev/null 2>&1
    for ((t = 0; t < 100; t++)); do
      if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then break; fi
      sleep 0.05
    done
  fi
  bash "$PEATNET_HERE/cleanup.sh" "$id"
}

peatnet_status() {
  local dir
  dir=$(peatnet_run_dir)
  if [[ ! -f $dir/hosts ]]; then
    echo "instance $(peatnet__id): not up"
    return 1
  fi
  echo "instance $(peatnet__id): emulator pid $(cat "$dir/netem.pid" 2>/dev/null || echo '?'), state $dir"
  cat "$dir/hosts"
}

# ----- command-line entry point --------------------------------------------------------------
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -u
  cmd=${1:-}
  shift || true
  case $cmd in
    up) peatnet_up "$@" ;;
    down) peatnet_down ;;
    status) peatnet_status ;;
    exec) peatnet_exec "$@" ;;
    addr) peatnet_addr "$@" ;;
    ns) peatnet_ns "$@" ;;
    hosts) peatnet_hosts ;;
    set) peatnet_set "$@" ;;
    get) peatnet_get "$@" ;;
    stats) peatnet_stats "$@" ;;
    partition) peatnet_partition "$@" ;;
    heal) peatnet_heal ;;
    reset) peatnet_reset ;;
    reset-stats) peatnet_reset_stats ;;
    ping) peatnet_ping "$@" ;;
    ctl) peatnet_ctl "$@" ;;
    bin) peatnet_bin ;;
    *)
      sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
fi
