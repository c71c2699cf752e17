#!/usr/bin/env bash
# `make package-check-image` (part of make package-check, run in CI): the container image checked
# without a container engine (PACKAGING.md §3 rows "Dockerfile" and "Image content").
#   1. the Dockerfile's rules (check-dockerfile.mjs, plus its self-test on broken variants);
#   2. the image's rootfs staged from build/peat-node by stage-rootfs.sh, twice: identical both
#      times; exactly the expected files, owners and modes; no shell;
#   3. an OCI layout (umoci) with that rootfs as its one layer and the Dockerfile's final-stage
#      config; `skopeo inspect` shows user, entrypoint, cmd, ports, volume, stop signal, labels;
#   4. sizes: rootfs <= 40 MiB (du -sb), compressed layer <= 16 MiB;
#   5. smoke: `peat-node --version` as 65532 in a fresh PID namespace, chrooted into the rootfs;
#   6. the image's default command on a read-only bind of the rootfs with tmpfs data dir and /tmp,
#      as PID 1 of its own PID namespace (own network namespace too): `peat-node healthcheck` exits
#      0, `peat status` answers, then SIGTERM -> exit 0 within the shutdown grace (10 s).
# The HEALTHCHECK is not part of an OCI image config (only of the docker format): step 1 checks it
# in the Dockerfile, scripts/package/test-image.sh checks the built image.
#
#   scripts/package/check-image.sh [BINARY]     (root; BINARY defaults to build/peat-node)
set -euo pipefail
log_prefix=check-image
# shellcheck source=scripts/package/image-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/image-lib.sh"

binary="${1:-$repo/build/peat-node}"
[[ $(id -u) == 0 ]] || die "must run as root (staging chowns; the smoke tests use namespaces)"
[[ -x $binary ]] || die "$binary not found (make build)"
ensure_packages umoci skopeo jq binutils iproute2 util-linux coreutils

max_rootfs=$((40 * 1024 * 1024))
max_layer=$((16 * 1024 * 1024))
start=$SECONDS
work="$(mktemp -d /tmp/peat-check-image.XXXXXX)"
node_pid=""
cleanup() {
  [[ -n $node_pid ]] && kill -KILL "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. Dockerfile rules -------------------------------------------------------------------------
node "$repo/scripts/package/check-dockerfile.mjs" "$repo/Dockerfile" >&2
node "$repo/scripts/package/check-dockerfile.mjs" --self-test >&2

# --- 2. the rootfs, twice ------------------------------------------------------------------------
epoch="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)"
rootfs="$work/rootfs"
SOURCE_DATE_EPOCH="$epoch" bash "$repo/scripts/package/stage-rootfs.sh" "$rootfs" "$binary"
SOURCE_DATE_EPOCH="$epoch" bash "$repo/scripts/package/stage-rootfs.sh" "$work/rootfs2" "$binary" 2>/dev/null
# Every path with type, mode, owner, mtime, size, link target, and each file's hash.
inventory() {
  (cd "$1" && find . -printf '%p %y %m %U:%G %T@ %s %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
diff <(inventory "$rootfs") <(inventory "$work/rootfs2") >&2 ||
  die "two stagings of the same binary differ (stage-rootfs.sh is not deterministic)"
rm -rf "$work/rootfs2"
log "rootfs: staged twice, identical"

# Exactly these entries (libraries by stem: libssl.so.3 -> libssl), nothing else.
multiarch="$(basename "$(dirname "$(readlink -f "$rootfs/usr/lib/"*/libc.so.6)")")"
want_libs="ld-linux libc libcrypto libfmt libgcc_s libm libnats libnghttp2 libprotobuf libprotobuf-c libsimdjson libspdlog libsqlite3 libssl libstdc++ libz"
have_libs="$(cd "$rootfs/usr" && find lib lib64 -type f -printf '%f\n' | sed 's/[.-]so.*$//; s/^ld-linux.*/ld-linux/' | LC_ALL=C sort | tr '\n' ' ')"
[[ $have_libs == "$want_libs " ]] || die "libraries: want [$want_libs], have [$have_libs]"
want_entries="$(LC_ALL=C sort <<EOF
. d 755 0:0
./data d 755 0:0
./data/peat-node d 750 65532:65532
./etc d 755 0:0
./etc/group f 644 0:0
./etc/nsswitch.conf f 644 0:0
./etc/passwd f 644 0:0
./etc/ssl d 755 0:0
./etc/ssl/certs d 755 0:0
./etc/ssl/certs/ca-certificates.crt f 644 0:0
./lib l 777 0:0
./lib64 l 777 0:0
./tmp d 1777 0:0
./usr d 755 0:0
./usr/bin d 755 0:0
./usr/bin/peat f 755 0:0
./usr/bin/peat-node f 755 0:0
./usr/lib d 755 0:0
./usr/lib/$multiarch d 755 0:0
./usr/lib64 d 755 0:0
EOF
)"
have_entries="$(cd "$rootfs" && find . -path './usr/lib*/*.so*' -prune -o -printf '%p %y %m %U:%G\n' | LC_ALL=C sort)"
diff <(echo "$want_entries") <(echo "$have_entries") >&2 || die "rootfs entries differ from the expected list (- want, + have)"
grep -qx 'peat:x:65532:65532:peat-node:/data/peat-node:/sbin/nologin' "$rootfs/etc/passwd" || die "no peat 65532 in /etc/passwd"
grep -qx 'peat:x:65532:' "$rootfs/etc/group" || die "no peat 65532 in /etc/group"
[[ $(readlink "$rootfs/lib64") == usr/lib64 && $(readlink "$rootfs/lib") == usr/lib ]] || die "merged-/usr links wrong"
for bin in peat-node peat; do
  if readelf -S "$rootfs/usr/bin/$bin" | grep -q '\.debug_\|\.symtab'; then die "/usr/bin/$bin is not stripped"; fi
done
mtimes="$(cd "$rootfs" && find . -printf '%Ts\n' | sort -u | tr '\n' ' ')"
[[ $mtimes == "$epoch " ]] || die "mtimes are [$mtimes], not SOURCE_DATE_EPOCH ($epoch)"
log "rootfs: exactly the expected $(cd "$rootfs" && find . | wc -l) entries (14 libraries, no shell), owners, modes, stripped binaries, fixed mtimes"

# --- 3. OCI layout + image config ---------------------------------------------------------------
revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
config_json="$(VERSION="$version" REVISION="$revision" node "$repo/scripts/package/check-dockerfile.mjs" --config "$repo/Dockerfile")"
layout="$work/oci"
ref="oci:$layout:$version"
tar --sort=name --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci raw add-layer --image "$layout:$version" "$work/layer.tar"
config_args=(--config.user "$(jq -r .user <<<"$config_json")" --config.stopsignal "$(jq -r .stopSignal <<<"$config_json")")
while IFS= read -r v; do config_args+=(--config.entrypoint "$v"); done < <(jq -r '.entrypoint[]' <<<"$config_json")
while IFS= read -r v; do config_args+=(--config.cmd "$v"); done < <(jq -r '.cmd[]' <<<"$config_json")
while IFS= read -r v; do config_args+=(--config.exposedports "$v"); done < <(jq -r '.exposedPorts[]' <<<"$config_json")
while IFS= read -r v; do config_args+=(--config.volume "$v"); done < <(jq -r '.volumes[]' <<<"$config_json")
while IFS= read -r v; do config_args+=(--config.label "$v"); done < <(jq -r '.labels | to_entries[] | "\(.key)=\(.value)"' <<<"$config_json")
umoci config --image "$layout:$version" --architecture amd64 --os linux "${config_args[@]}"

cfg="$(skopeo inspect --config "$ref")"
expect() { # expect JQ_FILTER EXPECTED_JSON
  local got
  got="$(jq -c "$1" <<<"$cfg")"
  [[ $got == "$2" ]] || die "image config $1: want $2, got $got"
}
expect .config.User '"65532:65532"'
expect .config.Entrypoint '["/usr/bin/peat-node"]'
expect .config.Cmd '["--listen=tcp://0.0.0.0:50051","--data-dir=/data/peat-node"]'
expect '.config.ExposedPorts | keys' '["4433/tcp","50051/tcp"]'
expect '.config.Volumes | keys' '["/data/peat-node"]'
expect .config.StopSignal '"SIGTERM"'
expect '.config.Labels["org.opencontainers.image.version"]' "\"$version\""
expect '.config.Labels["org.opencontainers.image.revision"]' "\"$revision\""
expect '.config.Labels | has("org.opencontainers.image.source")' true
expect '.rootfs.diff_ids | length' 1
log "OCI layout: user, entrypoint, cmd, ports 50051+4433, volume, stop signal and labels as the Dockerfile says"

# --- 4. sizes -------------------------------------------------------------------------------------
rootfs_bytes="$(du -sb "$rootfs" | cut -f1)"
layer_bytes="$(skopeo inspect --raw "$ref" | jq '[.layers[].size] | add')"
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
log "sizes: rootfs $rootfs_bytes bytes ($(mib "$rootfs_bytes"); limit 40 MiB), compressed layer $layer_bytes bytes ($(mib "$layer_bytes"); limit 16 MiB), binary $(stat -c %s "$rootfs/usr/bin/peat-node") bytes stripped"
((rootfs_bytes <= max_rootfs)) || die "rootfs is $(mib "$rootfs_bytes"), over 40 MiB"
((layer_bytes <= max_layer)) || die "compressed layer is $(mib "$layer_bytes"), over 16 MiB"

# --- 5 + 6. the binary in the rootfs --------------------------------------------------------------
if ! unshare --mount --net --pid --fork --mount-proc true 2>/dev/null; then
  skip "mount/net/PID namespaces are not available here: the --version smoke, the read-only run, the healthcheck and the PID-1 SIGTERM test did NOT run"
  log "DONE WITH SKIPS in $((SECONDS - start)) s"
  exit 0
fi
got="$(unshare --pid --fork --mount-proc chroot --userspec=65532:65532 "$rootfs" /usr/bin/peat-node --version)"
[[ $got == "peat-node $version" ]] || die "--version in the rootfs printed '$got'"
log "smoke: '$got' as 65532:65532 in a fresh PID namespace, chrooted into the rootfs"

# Runs inside `unshare --mount --net --fork`: mounts, then the image's command as PID 1 of a new
# PID namespace; prints "healthcheck=N", "exit=N elapsed_ms=N".
cat >"$work/run.sh" <<'EOF'
set -euo pipefail
rootfs="$1"
shift
ip link set lo up
mount --make-rprivate /
m="$(mktemp -d)"
mount --bind "$rootfs" "$m"
mount -o remount,bind,ro "$m"
mount -t tmpfs -o mode=0750,uid=65532,gid=65532,size=64m tmpfs "$m/data/peat-node"
mount -t tmpfs -o mode=1777,size=16m tmpfs "$m/tmp"
if touch "$m/usr/bin/write-test" 2>/dev/null; then echo "the root is writable" >&2; exit 1; fi
as_peat=(chroot --userspec=65532:65532 "$m")
unshare --pid --fork "${as_peat[@]}" "$@" >"$rootfs.log" 2>&1 &
runner=$!
# Healthy within 20 s (poll: the node is not up yet, a probe says so at once).
deadline=$((SECONDS + 20)) rc=1
while ((SECONDS < deadline)); do
  if "${as_peat[@]}" /usr/bin/peat-node healthcheck --timeout-ms 1000 2>"$rootfs.hc"; then rc=0; break; fi
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.2
done
echo "healthcheck=$rc $(tr -d '\n' <"$rootfs.hc")"
# The CLI in the image reaches the node over the API (docs/CLI.md).
if cli_out="$("${as_peat[@]}" /usr/bin/peat --node 127.0.0.1:50051 status -o ndjson 2>&1)"; then rc=0; else rc=$?; fi
echo "cli=$rc $(tr -d '\n' <<<"$cli_out")"
node="$(tr -d ' ' <"/proc/$runner/task/$runner/children")"
nspid="$(awk '/^NSpid/ { print $NF }' "/proc/$node/status")"
echo "pid_in_namespace=$nspid"
t0="$(date +%s%N)"
kill -TERM "$node"
deadline=$((SECONDS + 15))
while kill -0 "$node" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
set +e
if kill -0 "$node" 2>/dev/null; then kill -KILL "$node"; fi
wait "$runner"
code=$?
echo "exit=$code elapsed_ms=$((($(date +%s%N) - t0) / 1000000))"
EOF
mapfile -t command < <(jq -r '.entrypoint[], .cmd[]' <<<"$config_json")
result="$(unshare --mount --net --fork bash "$work/run.sh" "$rootfs" "${command[@]}")" ||
  { cat "$rootfs.log" >&2; die "the read-only run failed: $result"; }
grep -q '^healthcheck=0' <<<"$result" || { cat "$rootfs.log" >&2; die "healthcheck in the read-only run: $result"; }
grep -q '^pid_in_namespace=1$' <<<"$result" || die "the node was not PID 1 of its namespace: $result"
grep -q '^cli=0 .*"phase":"NODE_PHASE_' <<<"$result" || die "peat status in the image: $(grep '^cli=' <<<"$result")"
exit_line="$(grep '^exit=' <<<"$result")"
[[ $exit_line =~ ^exit=0\ elapsed_ms=([0-9]+)$ ]] || { cat "$rootfs.log" >&2; die "SIGTERM to PID 1: $exit_line"; }
((BASH_REMATCH[1] <= 10000)) || die "SIGTERM to PID 1 took ${BASH_REMATCH[1]} ms (grace 10 s)"
log "read-only root, tmpfs data dir: healthcheck exit 0, peat status answered; SIGTERM to the node as PID 1 -> exit 0 in ${BASH_REMATCH[1]} ms"
log "PASS in $((SECONDS - start)) s"
