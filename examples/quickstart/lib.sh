# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Helpers shared by the quickstart scripts (sourced, not run): paths, messages, the node
# configuration start.sh saved, Connect-JSON calls with curl + jq, and process checks.

QS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QS_ROOT=$(cd "$QS_DIR/../.." && pwd)
QS_PROG=$(basename "$0")
QS_NODES=(alpha bravo)

# Everything the nodes write lives here: <node>/ (store), <node>.log, <node>.pid, shared-key,
# quickstart.env (the ports etc. start.sh used). PEAT_QS_DATA_DIR moves it (the CI test does).
QS_DATA=${PEAT_QS_DATA_DIR:-$QS_DIR/.data}
case $QS_DATA in /*) ;; *) QS_DATA=$PWD/$QS_DATA ;; esac
QS_CONFIG=$QS_DATA/quickstart.env
QS_MARKER=$QS_DATA/.peat-quickstart # stop.sh --clean removes only a directory that has it

QS_READY_TIMEOUT=${PEAT_QS_READY_TIMEOUT:-30} # seconds to wait for /readyz
QS_SYNC_TIMEOUT=${PEAT_QS_SYNC_TIMEOUT:-10}   # seconds for a document / a connection to show up

say() { printf '%s: %s\n' "$QS_PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$QS_PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$QS_PROG" "$*" >&2
  exit 1
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "'$tool' is not installed (scripts/install-deps.sh installs curl and jq; or: apt-get install -y $tool)"
  done
}

# Microseconds since the epoch, without forking (bash >= 5).
now_us() { printf '%s' "${EPOCHREALTIME//[!0-9]/}"; }
now_ms() { printf '%s' $(($(now_us) / 1000)); }

# Per-node settings from quickstart.env, e.g. node_var alpha API_PORT -> $ALPHA_API_PORT.
node_var() {
  local var="${1^^}_$2"
  printf '%s' "${!var}"
}
api_base() { printf 'http://%s:%s' "$QS_HOST" "$(node_var "$1" API_PORT)"; }
mesh_addr() { printf '%s:%s' "$QS_HOST" "$(node_var "$1" MESH_PORT)"; }

load_config() {
  [ -f "$QS_CONFIG" ] || die "no $QS_CONFIG: start the nodes first (examples/quickstart/start.sh)"
  # shellcheck source=/dev/null
  . "$QS_CONFIG"
}

# rpc NODE METHOD [JSON]: Connect unary call with a JSON body; prints the response body. On a
# Connect error (non-200) or a connection failure it exits with the error code and message.
rpc() {
  local node=$1 method=$2 body=${3:-'{}'} url out code
  url="$(api_base "$node")/peat.sidecar.v1.PeatSidecar/$method"
  if ! out=$(curl -sS --max-time 15 -H 'Content-Type: application/json' -d "$body" \
    -w '\n%{http_code}' "$url" 2>&1); then
    die "$method on $node ($url): ${out//$'\n'/ } (is the node running? ./start.sh, logs in $QS_DATA/$node.log)"
  fi
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "$code" != 200 ]; then
    die "$method on $node failed: HTTP $code $(jq -r '"\(.code): \(.message)"' <<<"$out" 2>/dev/null || printf '%s' "$out")"
  fi
  printf '%s\n' "$out"
}

pid_file() { printf '%s/%s.pid' "$QS_DATA" "$1"; }

# node_pid NODE: prints the pid of NODE's running peat-node and succeeds, or fails when the pid
# file is missing, the process is gone (or a zombie), or the pid now belongs to another program.
node_pid() {
  local file pid state
  file=$(pid_file "$1")
  [ -f "$file" ] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--data-dir $QS_DATA/$1 " || return 1
  printf '%s' "$pid"
}

log_tail() {
  local log="$QS_DATA/$1.log"
  [ -f "$log" ] || return 0
  printf -- '--- last lines of %s ---\n' "$log" >&2
  tail -n 15 "$log" >&2
}

# wait_ready NODE...: polls /readyz of each node until it answers 200, up to QS_READY_TIMEOUT s;
# fails early, with the node's log, when its process has exited.
wait_ready() {
  local node deadline
  deadline=$(($(now_ms) + QS_READY_TIMEOUT * 1000))
  for node in "$@"; do
    until curl -sf --max-time 2 "$(api_base "$node")/readyz" >/dev/null 2>&1; do
      if ! node_pid "$node" >/dev/null; then
        log_tail "$node"
        die "$node is not running (start it with ./start.sh; log: $QS_DATA/$node.log)"
      fi
      if [ "$(now_ms)" -ge "$deadline" ]; then
        log_tail "$node"
        die "$node not ready on $(api_base "$node")/readyz within ${QS_READY_TIMEOUT} s"
      fi
      sleep 0.1
    done
  done
}
