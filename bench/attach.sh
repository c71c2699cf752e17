#!/usr/bin/env bash
# B10–B14: attachments (docs/spec/ATTACHMENTS.md section 19), next to anchors measured in the SAME run.
#
#   bash bench/attach.sh            (or: make bench-attach)
#
# peat (bench/attach/attach.mjs: SendAttachments on a node with --attachment-root, timed until the
# file is complete in the receivers' --attachment-inbox):
#   - B10: a 100 MiB random file A→B on loopback: time, RSS growth per node, mesh bytes vs file
#     size. Anchors: scp to an sshd of our own on 127.0.0.1; rsync -e ssh --whole-file; curl over
#     HTTPS (TLS 1.3 only) from an nginx of our own; cp; cp + fsync of the copy;
#   - B14: 50 MiB from 1 sender to 6 receivers, full mesh on loopback. Anchor: 6 sequential scp;
#   - B11 (root only: tests/net): 4 MiB over the B7 link (1 Mbit/s, 200 ms RTT, 10 % loss) under
#     each TCP congestion control of BENCH_ATTACH_CC. Anchors: the link rate; plain TCP on the same
#     link (bench/ddil/ddil.mjs tcp);
#   - B12 (root only): B11 (bbr) with a 30 s cut at 50 %, and with B killed -9 at 50 %;
#   - B13 (root only): 10 Mbit/s, 50 ms RTT, 1 % loss: a 1 MB CRITICAL file while a 200 MB BULK
#     runs, and urgent docs then. Anchor: the same CRITICAL send on the idle link.
# sshd, rsync and nginx-light are installed with apt-get when missing (Debian; root); sshd and
# nginx run on free ports of 127.0.0.1 with configs, keys and a self-signed certificate in the
# temp dir, and are stopped on exit. Runs are interleaved (peat, then each anchor; run 1 of
# everything, then run 2, …) BENCH_RUNS times; the table shows medians and ranges, and is appended
# to docs/BENCHMARKS.md with the date, commit and machine.
#
# Knobs (env): BENCH_RUNS (3), BENCH_ATTACH_ONLY ("b10 b14 b11 b12 b13": the benchmarks to run),
# BENCH_ATTACH_CC ("bbr reno", for B11), BENCH_ATTACH_B10_MIB (100) and BENCH_ATTACH_B14_MIB (50):
# the file sizes, BENCH_ATTACH_TIMEOUT_S (900, per wait), BENCH_OUT
# (docs/BENCHMARKS.md; empty = do not append), BENCH_KEEP=1 (keep the temp dir), PEAT_NODE.
# Benchmarks never fail on a number; the script exits non-zero only if it cannot run. A run that
# fails is reported as "not measured" with its error.

set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init attach.sh

PEAT_NODE=${PEAT_NODE:-$ROOT/build/peat-node}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ATTACH_ONLY:-b10 b14 b11 b12 b13}
CCS=${BENCH_ATTACH_CC:-bbr reno}
TIMEOUT_S=${BENCH_ATTACH_TIMEOUT_S:-900}
B10_MIB=${BENCH_ATTACH_B10_MIB:-100}
B14_MIB=${BENCH_ATTACH_B14_MIB:-50}
ATTACH=$ROOT/bench/attach/attach.mjs

command -v node >/dev/null || die "node not found (make deps)"
[[ -x $PEAT_NODE ]] || die "$PEAT_NODE not built (make build)"
[[ -d $ROOT/tests/clients/node_modules && -d $ROOT/tests/clients/gen ]] ||
  die "the client toolchain is not installed (make npm-deps, or bash scripts/install-npm-deps.sh)"
export PEAT_NODE_BIN=$PEAT_NODE
want() { [[ " $ONLY " == *" $1 "* ]]; }
if [[ $(id -u) != 0 ]]; then
  for b in b11 b12 b13; do want "$b" && log "not root: $b skipped (network namespaces, tests/net/README.md)"; done
  ONLY=$(tr ' ' '\n' <<<"$ONLY" | grep -vE '^b1[123]$' | tr '\n' ' ')
else
  [[ -x $ROOT/build/tests/net/netem-lite ]] && export PEATNET_BIN=${PEATNET_BIN:-$ROOT/build/tests/net/netem-lite}
fi

# ---------------------------------------------------------------------------------------------
# Anchors: sshd and nginx of our own on 127.0.0.1
# ---------------------------------------------------------------------------------------------

ANCH=$TMP/anchor
SSHD_PID=
anchors_stop() {
  if [[ -n $SSHD_PID ]]; then kill "$SSHD_PID" 2>/dev/null || true; fi
  if [[ -f $ANCH/nginx/nginx.pid ]]; then kill "$(cat "$ANCH/nginx/nginx.pid")" 2>/dev/null || true; fi
}
trap 'anchors_stop; bench__cleanup' EXIT

# Two free ports for the anchors, below the kernel's ephemeral range (freePort in
# tests/integration/lib/mesh_cluster.mjs): a listen(0) port may be taken as the local port of
# another process's outgoing connection before the anchor binds it.
free_ports() {
  node --input-type=module -e "import { freePort } from '$ROOT/tests/integration/lib/mesh_cluster.mjs';
console.log(await freePort(), await freePort());"
}

anchors_install() {
  local missing=()
  command -v /usr/sbin/sshd >/dev/null || missing+=(openssh-server)
  command -v scp >/dev/null || missing+=(openssh-client)
  command -v rsync >/dev/null || missing+=(rsync)
  command -v /usr/sbin/nginx >/dev/null || missing+=(nginx-light)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]} (apt-get install ${missing[*]}, as root)"
  log "installing ${missing[*]} (apt-get)"
  # no service starts from the packages' scripts (Debian's policy-rc.d convention), unless one is set already
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$TMP/apt.log" 2>&1 ||
    { ((own_policy)) && rm -f "$policy"; die "apt-get install failed ($(tail -1 "$TMP/apt.log"))"; }
  ((own_policy)) && rm -f "$policy"
  return 0
}

anchors_start() {
  anchors_install
  mkdir -p "$ANCH/nginx" "$ANCH/dst" /run/sshd
  read -r SSH_PORT HTTPS_PORT < <(free_ports)
  [[ -n $HTTPS_PORT ]] || die "no free ports for the anchors"
  ssh-keygen -q -t ed25519 -N '' -f "$ANCH/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$ANCH/client_key"
  cp "$ANCH/client_key.pub" "$ANCH/authorized_keys"
  cat >"$ANCH/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $ANCH/host_key
PidFile $ANCH/sshd.pid
AuthorizedKeysFile $ANCH/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
EOF
  /usr/sbin/sshd -D -e -f "$ANCH/sshd_config" 2>"$ANCH/sshd.log" &
  SSHD_PID=$!
  SSH_OPTS=(-F /dev/null -i "$ANCH/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
  local i
  for ((i = 0; i < 100; i++)); do
    ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" root@127.0.0.1 true 2>/dev/null && break
    sleep 0.1 # waiting for sshd to listen (a bounded retry, not a measurement)
  done
  ((i < 100)) || die "sshd did not come up ($(tail -1 "$ANCH/sshd.log"))"
  SSH_CIPHER=$(ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" -G 127.0.0.1 | awk '/^ciphers / { split($2, c, ","); print c[1] }')

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -days 2 \
    -keyout "$ANCH/nginx/key.pem" -out "$ANCH/nginx/cert.pem" 2>/dev/null
  cat >"$ANCH/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $ANCH/nginx/nginx.pid;
error_log $ANCH/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $ANCH/nginx/body;
  proxy_temp_path $ANCH/nginx/proxy;
  fastcgi_temp_path $ANCH/nginx/fastcgi;
  uwsgi_temp_path $ANCH/nginx/uwsgi;
  scgi_temp_path $ANCH/nginx/scgi;
  server {
    listen 127.0.0.1:$HTTPS_PORT ssl;
    ssl_certificate $ANCH/nginx/cert.pem;
    ssl_certificate_key $ANCH/nginx/key.pem;
    ssl_protocols TLSv1.3;
    root $TMP/src;
  }
}
EOF
  /usr/sbin/nginx -p "$ANCH/nginx" -c "$ANCH/nginx/nginx.conf" -e "$ANCH/nginx/error.log" ||
    die "nginx did not start ($(tail -1 "$ANCH/nginx/error.log"))"
  for ((i = 0; i < 100; i++)); do
    curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$HTTPS_PORT/" 2>/dev/null && break
    sleep 0.1 # waiting for nginx to listen
  done
  TLS_CIPHER=$(curl -sk --tlsv1.3 -o /dev/null -v "https://127.0.0.1:$HTTPS_PORT/payload.bin" 2>&1 | sed -n 's/.*SSL connection using \([^ ]*\) \/ \([^ ]*\).*/\1 \2/p' | head -1)
  log "anchors: sshd on 127.0.0.1:$SSH_PORT ($SSH_CIPHER), nginx on 127.0.0.1:$HTTPS_PORT ($TLS_CIPHER)"
}

# timed NAME CMD...: runs CMD after a sync (untimed), prints {"scenario": NAME, "seconds": wall time}.
timed() {
  local name=$1 t0 t1
  shift
  sync
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  printf '{"scenario":"%s","seconds":%s}\n' "$name" "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.6f", d / 1e9 }')"
}
copy_fsync() { cp "$1" "$2" && sync "$2"; }
# anchor NAME SRC: one copy of SRC with tool NAME into the anchor's destination dir (removed
# after); NAME ssh: no copy, an ssh login running `true` (scp's connection set-up).
anchor() {
  local name=$1 src=$2 dst=$ANCH/dst/$1.bin
  if [[ $name == ssh ]]; then
    timed ssh ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" root@127.0.0.1 true
    return
  fi
  rm -f "$dst"
  case $name in
    scp) timed scp scp -q "${SSH_OPTS[@]}" -P "$SSH_PORT" "$src" "root@127.0.0.1:$dst" ;;
    rsync) timed rsync rsync --whole-file -e "ssh ${SSH_OPTS[*]} -p $SSH_PORT" "$src" "root@127.0.0.1:$dst" ;;
    curl) timed curl curl -sSk --tlsv1.3 -o "$dst" "https://127.0.0.1:$HTTPS_PORT/${src#"$TMP/src/"}" ;;
    cp) timed cp cp "$src" "$dst" ;;
    cp_fsync) timed cp_fsync copy_fsync "$src" "$dst" ;;
  esac
  [[ $(stat -c %s "$dst") == $(stat -c %s "$src") ]] || {
    echo "$name: incomplete copy" >&2
    return 1
  }
  rm -f "$dst"
}
scp6() {
  local i
  for ((i = 1; i <= 6; i++)); do scp -q "${SSH_OPTS[@]}" -P "$SSH_PORT" "$1" "root@127.0.0.1:$ANCH/dst/scp6-$i.bin" || return 1; done
}
anchor_scp6() {
  timed scp6 scp6 "$1"
  rm -f "$ANCH/dst"/scp6-*.bin
}

# ---------------------------------------------------------------------------------------------
# Files and runs
# ---------------------------------------------------------------------------------------------

mkdir -p "$TMP/src" "$TMP/src14" "$TMP/src11" "$TMP/src13"
log "writing the random files"
want b10 && head -c $((B10_MIB << 20)) /dev/urandom >"$TMP/src/payload.bin"
want b14 && head -c $((B14_MIB << 20)) /dev/urandom >"$TMP/src14/payload.bin"
{ want b11 || want b12; } && head -c $((4 << 20)) /dev/urandom >"$TMP/src11/payload.bin"
if want b13; then
  head -c 200000000 /dev/urandom >"$TMP/src13/bulk.bin"
  head -c 1000000 /dev/urandom >"$TMP/src13/critical1.bin"
  head -c 1000000 /dev/urandom >"$TMP/src13/critical2.bin"
fi
{ want b10 || want b14; } && anchors_start

common=(--timeout-s "$TIMEOUT_S")
for ((rep = 1; rep <= RUNS; rep++)); do
  if want b10; then
    log "run $rep/$RUNS: B10 peat, $B10_MIB MiB A→B on loopback"
    sync
    bench_run "b10.$rep" node "$ATTACH" b10 --file "$TMP/src/payload.bin" "${common[@]}"
    for a in scp rsync curl cp cp_fsync ssh; do
      log "run $rep/$RUNS: B10 anchor $a"
      bench_run "$a.$rep" anchor "$a" "$TMP/src/payload.bin"
    done
  fi
  if want b14; then
    log "run $rep/$RUNS: B14 peat, $B14_MIB MiB to 6 receivers"
    sync
    bench_run "b14.$rep" node "$ATTACH" b14 --file "$TMP/src14/payload.bin" --receivers 6 "${common[@]}"
    log "run $rep/$RUNS: B14 anchor, 6 sequential scp"
    bench_run "scp6.$rep" anchor_scp6 "$TMP/src14/payload.bin"
  fi
  if want b11; then
    for cc in $CCS; do
      log "run $rep/$RUNS, TCP $cc: TCP alone on the B7 link"
      bench_run "tcp_$cc.$rep" node "$ROOT/bench/ddil/ddil.mjs" tcp --cc "$cc" --seed "$rep" "${common[@]}"
      log "run $rep/$RUNS, TCP $cc: B11 4 MiB over the B7 link"
      bench_run "b11_$cc.$rep" node "$ATTACH" b11 --file "$TMP/src11/payload.bin" --cc "$cc" --seed "$rep" "${common[@]}"
    done
  fi
  if want b12; then
    for v in cut kill; do
      log "run $rep/$RUNS: B12 $v at 50 % (bbr)"
      bench_run "b12_$v.$rep" node "$ATTACH" b12 --file "$TMP/src11/payload.bin" --variant "$v" --cc bbr --seed "$rep" "${common[@]}"
    done
  fi
  if want b13; then
    log "run $rep/$RUNS: B13 1 MB CRITICAL during a 200 MB BULK"
    bench_run "b13.$rep" node "$ATTACH" b13 --bulk "$TMP/src13/bulk.bin" --critical "$TMP/src13/critical1.bin" \
      --critical2 "$TMP/src13/critical2.bin" --seed "$rep" "${common[@]}"
  fi
done

export BENCH_RUNS=$RUNS BENCH_ATTACH_CC=$CCS BENCH_ATTACH_ONLY=$ONLY BENCH_ANCHOR_DESC
BENCH_ANCHOR_DESC="OpenSSH $(ssh -V 2>&1 | sed -n 's/^OpenSSH_\([^ ,]*\).*/\1/p') scp (SFTP protocol, cipher ${SSH_CIPHER:-?}) and rsync $(rsync --version 2>/dev/null | awk 'NR == 1 { print $3 }') --whole-file over ssh to an sshd on 127.0.0.1; curl over HTTPS from nginx $(/usr/sbin/nginx -v 2>&1 | sed 's/.*nginx\///') (TLS 1.3 only: ${TLS_CIPHER:-?}); cp and cp + fsync, all into the same filesystem (ssh: an ssh login running true, scp's connection set-up); none of them fsyncs except cp + fsync (peat's receiver fsyncs the file and the directory); the page cache is synced before each copy"
bench_publish "$PEAT_NODE" node "$ATTACH" report
