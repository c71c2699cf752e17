#!/usr/bin/env bash
# Starts two peat-node peers on this machine, in the background:
#   alpha: API 127.0.0.1:50061, mesh 127.0.0.1:4461, --auto-sync true (the default)
#   bravo: API 127.0.0.1:50062, mesh 127.0.0.1:4462, --auto-sync false (bootstrap.sh starts it)
# alpha has an attachment root ".data/alpha-files" (named "files"), bravo an inbox
# ".data/bravo-inbox": send-file.sh sends a file from one to the other.
# Same --app-id, same generated shared key (kept in .data/shared-key so restarts keep the
# identities). Stores, logs and pid files go to examples/quickstart/.data.
#
# Builds build/peat-node first (make build) when it is missing or older than the sources.
# Idempotent: a node that is already running is left alone.
#
# Environment (all optional):
#   PEAT_QS_HOST           address both nodes bind to           (127.0.0.1)
#   PEAT_QS_A_API_PORT     alpha's API port                     (50061)
#   PEAT_QS_B_API_PORT     bravo's API port                     (50062)
#   PEAT_QS_A_MESH_PORT    alpha's mesh port                    (4461)
#   PEAT_QS_B_MESH_PORT    bravo's mesh port                    (4462)
#   PEAT_QS_APP_ID         the formation's --app-id             (peat-quickstart)
#   PEAT_QS_DATA_DIR       where state goes                     (examples/quickstart/.data)
#   PEAT_QS_READY_TIMEOUT  seconds to wait for /readyz          (30)
#   PEAT_NODE_BIN          use this binary and never build      (unset: build/peat-node)
# The settings are saved in .data/quickstart.env; bootstrap.sh, demo.sh and stop.sh read them there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need_tools curl jq setsid

# --- the binary -------------------------------------------------------------------------------
if [ -n "${PEAT_NODE_BIN:-}" ]; then
  bin=$PEAT_NODE_BIN
  [ -x "$bin" ] || die "PEAT_NODE_BIN=$bin is not an executable file"
else
  bin=$QS_ROOT/build/peat-node
  stale=""
  if [ -x "$bin" ]; then
    stale=$(find "$QS_ROOT/src" "$QS_ROOT/proto" "$QS_ROOT/CMakeLists.txt" -type f -newer "$bin" \
      -print -quit)
  fi
  if [ ! -x "$bin" ] || [ -n "$stale" ]; then
    if [ -n "$stale" ]; then say "build/peat-node is older than ${stale#"$QS_ROOT"/}: running make build"; else
      say "no build/peat-node yet: running make build (first build takes a few minutes)"; fi
    make -C "$QS_ROOT" --no-print-directory build || die "make build failed (see the output above)"
    [ -x "$bin" ] || die "make build finished but $bin does not exist"
  fi
fi
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

# --- configuration ----------------------------------------------------------------------------
mkdir -p "$QS_DATA"
QS_DATA=$(cd "$QS_DATA" && pwd) # canonical: node_pid matches it against the command line
QS_CONFIG=$QS_DATA/quickstart.env
QS_MARKER=$QS_DATA/.peat-quickstart
touch "$QS_MARKER"

running=()
for node in "${QS_NODES[@]}"; do node_pid "$node" >/dev/null && running+=("$node"); done

wanted() {
  cat <<EOF
QS_HOST=${PEAT_QS_HOST:-127.0.0.1}
QS_APP_ID=${PEAT_QS_APP_ID:-peat-quickstart}
ALPHA_API_PORT=${PEAT_QS_A_API_PORT:-50061}
BRAVO_API_PORT=${PEAT_QS_B_API_PORT:-50062}
ALPHA_MESH_PORT=${PEAT_QS_A_MESH_PORT:-4461}
BRAVO_MESH_PORT=${PEAT_QS_B_MESH_PORT:-4462}
EOF
}
new_config=$(wanted)
while IFS= read -r line; do
  value=${line#*=}
  [[ "$value" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad value for ${line%%=*}: '$value' (letters, digits, . _ - only)"
done <<<"$new_config"

if ((${#running[@]})) && [ -f "$QS_CONFIG" ]; then
  # Keep the settings the running node(s) were started with.
  if [ "$new_config" != "$(cat "$QS_CONFIG")" ]; then
    warn "${running[*]} already running with the settings in $QS_CONFIG; ignoring the new ones (./stop.sh first to change them)"
  fi
else
  printf '%s\n' "$new_config" >"$QS_CONFIG"
fi
load_config

key_file=$QS_DATA/shared-key
if [ ! -s "$key_file" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 -w0 >"$key_file.tmp" && mv "$key_file.tmp" "$key_file")
  say "generated the formation's shared key: $key_file"
fi
shared_key=$(<"$key_file")

# --- start ------------------------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/$QS_HOST/$1") 2>/dev/null; }

start_node() {
  local node=$1 api mesh pid
  shift
  api=$(node_var "$node" API_PORT)
  mesh=$(node_var "$node" MESH_PORT)
  # Other PEAT_NODE_* variables in the caller's environment would change the nodes (peers, keys):
  # start from a clean slate. The shared key goes in the environment, not on the command line,
  # so it does not show up in `ps`.
  (
    while IFS='=' read -r var _; do
      [[ "$var" == PEAT_NODE_* ]] && unset "$var"
    done < <(env)
    export PEAT_NODE_SHARED_KEY=$shared_key
    # setsid: detach from this terminal (no SIGHUP/SIGINT when it closes); stop.sh sends SIGTERM.
    exec setsid "$bin" --data-dir "$QS_DATA/$node" --node-id "$node" --app-id "$QS_APP_ID" \
      --listen "tcp://$QS_HOST:$api" --mesh-listen "tcp://$QS_HOST:$mesh" "$@"
  ) >>"$QS_DATA/$node.log" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$node")"
  # The pid is the subshell's until it execs peat-node; wait for that (or for an early exit).
  local deadline=$(($(now_ms) + 5000))
  until node_pid "$node" >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
      log_tail "$node"
      die "$node exited right after starting (log: $QS_DATA/$node.log)"
    fi
    sleep 0.02
  done
  say "started $node (pid $pid): API http://$QS_HOST:$api, mesh $QS_HOST:$mesh, log $QS_DATA/$node.log"
}

mkdir -p "$QS_DATA/alpha-files" # an attachment root must exist (bravo's inbox is created)

to_start=()
for node in "${QS_NODES[@]}"; do
  if pid=$(node_pid "$node"); then
    say "$node already running (pid $pid): API $(api_base "$node")"
  else
    to_start+=("$node")
  fi
done
# Check every port before starting anything, so a conflict does not leave one node running.
for node in "${to_start[@]}"; do
  for port in "$(node_var "$node" API_PORT)" "$(node_var "$node" MESH_PORT)"; do
    ! port_in_use "$port" ||
      die "$QS_HOST:$port (for $node) is already in use by another program; choose other ports with PEAT_QS_A_API_PORT, PEAT_QS_B_API_PORT, PEAT_QS_A_MESH_PORT, PEAT_QS_B_MESH_PORT"
  done
done
for node in "${to_start[@]}"; do
  case $node in
    # alpha sends files from its attachment root "files"; bravo receives them in its inbox.
    alpha) start_node alpha --attachment-root "files=$QS_DATA/alpha-files" ;;
    bravo) start_node bravo --auto-sync false --attachment-inbox "$QS_DATA/bravo-inbox" ;;
    # (bootstrap.sh's StartSync turns bravo's replication on)
  esac
done

wait_ready "${QS_NODES[@]}"
for node in "${QS_NODES[@]}"; do
  status=$(rpc "$node" GetStatus)
  say "$node ready: endpoint $(jq -r .endpointAddr <<<"$status"), sync $(jq -r 'if .syncActive then "on" else "off" end' <<<"$status")"
done
say "next: $QS_DIR/bootstrap.sh"
