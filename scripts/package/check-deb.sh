#!/usr/bin/env bash
# The systemd unit and the .deb, checked for real (PACKAGING.md §2.4 and §3; `make package-check-deb`,
# part of `make package-check`). Needs root and a configured build tree with build/peat-node.
#
#   1. shellcheck on the maintainer scripts
#   2. cpack -G DEB from the build tree; dpkg-deb --info/--contents: paths, modes, owners, conffiles,
#      control fields, a stripped binary
#   3. systemd-analyze verify on a staged tree (the package's files + this machine's systemd units);
#      any message fails. systemd-analyze security --offline=yes --threshold=20 (exposure ≤ 2.0)
#   4. lintian: every tag fails except those in packaging/deb/lintian-allowlist (each explained)
#   5. a throwaway Debian 12 root (scripts/package/debian-base.sh), no systemd: apt-get install of
#      the .deb pulls its shlib deps; user/group peat (adduser path), modes and owners, the enable
#      symlink, the binary runs as peat on the packaged config; conffile edit kept on upgrade to a
#      second .deb with a bumped version; env file restored after truncation and after deletion;
#      remove keeps the state, purge deletes /var/lib/peat-node
#   6. systemd as PID 1 (systemd-nspawn --boot, private network) in a second root with systemd
#      installed (sysusers path): the unit becomes active through READY=1, runs as peat, answers
#      /readyz on /run/peat-node/api.sock and on 127.0.0.1:50051, an upgrade restarts it, it stops
#      cleanly (exit 0), purge stops and removes it. When the sandbox cannot boot a container this
#      step prints SKIPPED with the reason; it never passes silently.
#
# Environment: BUILD (default build), PEAT_PACKAGE_CACHE (default /var/cache/peat-node: the base
# tarball, and apt lists + downloaded .debs reused by later runs), PEAT_CHECK_DEB_KEEP=1 keeps the
# work dir.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD:-build}"
[[ $build == /* ]] || build="$repo/$build"
cache="${PEAT_PACKAGE_CACHE:-/var/cache/peat-node}"
version="$(sed -n 's/^project(peat-node VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")"
upgrade_version="$version+upgradetest1"
arch="$(dpkg --print-architecture)"
started=$SECONDS

log() { echo "check-deb: $*"; }
fail() {
  echo "check-deb: FAIL: $*" >&2
  exit 1
}
step() { log "[$((SECONDS - started))s] $*"; }

[[ $(id -u) == 0 ]] || fail "needs root (chroot, mounts, systemd-nspawn)"
[[ -n $version ]] || fail "no version in project() of CMakeLists.txt"
[[ -x $build/peat-node ]] || fail "$build/peat-node not built (make build)"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}
apt_install lintian systemd-container shellcheck dpkg-dev curl

work="$(mktemp -d /tmp/peat-check-deb.XXXXXX)"
nspawn_pid=""
init="" # the container's systemd (PID 1 of its namespace), as a PID of this machine
cleanup() {
  local rc=$?
  if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # Killing the namespace's PID 1 ends every process in it; nspawn then exits.
    if [[ -n $init ]]; then kill -KILL "$init" 2>/dev/null || true; fi
    kill -KILL "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  # Unmount everything below the work dir, deepest first, before removing it.
  { findmnt -rn -o TARGET | grep "^$work/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  if [[ ${PEAT_CHECK_DEB_KEEP:-} == 1 ]]; then log "kept $work"; else rm -rf --one-file-system "$work"; fi
  exit "$rc"
}
trap cleanup EXIT

# ---- 1. maintainer scripts ----
step "shellcheck packaging/deb/{postinst,prerm,postrm}"
shellcheck -s sh "$repo"/packaging/deb/{postinst,prerm,postrm}

# ---- 2. the package ----
step "cpack -G DEB ($build)"
[[ -f $build/CPackConfig.cmake ]] || cmake -S "$repo" -B "$build" >/dev/null
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack"; }
deb="$work/cpack/peat-node_${version}_${arch}.deb"
[[ -f $deb ]] || fail "cpack made no $deb: $(ls "$work/cpack")"
log "$(basename "$deb"): $(stat -c %s "$deb") bytes"

# A second package, identical but for a higher version: the upgrade in step 5 and 6.
dpkg-deb -R "$deb" "$work/v2"
sed -i "s/^Version: .*/Version: $upgrade_version/" "$work/v2/DEBIAN/control"
deb2="$work/peat-node_${upgrade_version}_${arch}.deb"
dpkg-deb -b "$work/v2" "$deb2" >/dev/null

step "dpkg-deb --info/--contents"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == peat-node ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version $(field Version) != project() version $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture: $(field Architecture)"
for dep in adduser libc6 libssl3 libsqlite3-0 libprotobuf32 libnghttp2-14 libstdc++6; do
  [[ ", $(field Depends)," == *", $dep "* || ", $(field Depends)," == *", $dep,"* ]] ||
    fail "Depends lacks $dep (dpkg-shlibdeps): $(field Depends)"
done
dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/peat-node/peat-node.env ]] ||
  fail "conffiles: $(cat "$work/control/conffiles")"
for s in postinst prerm postrm; do
  [[ $(stat -c %a "$work/control/$s") == 755 ]] || fail "$s is not 0755"
done
# "mode owner/group path" of every entry, as dpkg-deb lists them.
dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}' | sed 's# \./# /#' >"$work/contents"
expect_entry() {
  grep -qxF -e "$1 $2 $3" "$work/contents" ||
    fail "package entry '$1 $2 $3' missing; got: $(grep -F " $3" "$work/contents" || echo none)"
}
expect_entry -rwxr-xr-x root/root /usr/bin/peat-node
expect_entry -rw-r--r-- root/root /lib/systemd/system/peat-node.service
expect_entry -rw-r--r-- root/root /usr/lib/sysusers.d/peat-node.conf
expect_entry drwxr-xr-x root/root /etc/peat-node/
expect_entry -rw-r----- root/root /etc/peat-node/peat-node.env
expect_entry -rw-r--r-- root/root /usr/share/peat-node/peat-node.env.example
expect_entry -rw-r--r-- root/root /usr/share/doc/peat-node/copyright
expect_entry -rw-r--r-- root/root /usr/share/doc/peat-node/changelog.gz
expect_entry -rw-r--r-- root/root /usr/share/man/man1/peat-node.1.gz
expect_entry -rwxr-xr-x root/root /usr/bin/peat
expect_entry -rw-r--r-- root/root /usr/share/man/man1/peat.1.gz
expect_entry -rw-r--r-- root/root /usr/share/bash-completion/completions/peat
files=$(grep -c '^-' "$work/contents")
((files == 11)) || fail "expected 11 files in the package, found $files: $(grep '^-' "$work/contents")"
if grep -q ' /var/' "$work/contents"; then fail "the package ships /var (StateDirectory= and postinst own it)"; fi

stage="$work/stage"
dpkg-deb -x "$deb" "$stage"
for bin in peat-node peat; do
  if readelf -S "$stage/usr/bin/$bin" | grep -qE '\.(symtab|debug_info|comment)\b'; then
    fail "/usr/bin/$bin is not stripped"
  fi
done
grep -qx 'complete -F _peat peat' "$stage/usr/share/bash-completion/completions/peat" ||
  fail "the bash completion of peat does not register _peat"
cmp -s "$stage/etc/peat-node/peat-node.env" "$stage/usr/share/peat-node/peat-node.env.example" ||
  fail "the env file and its .example differ"
log "binary $(stat -c %s "$stage/usr/bin/peat-node") bytes stripped (build tree: $(stat -c %s "$build/peat-node"))"

# ---- 3. the unit ----
step "systemd-analyze verify (staged tree)"
mkdir -p "$stage/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$stage/usr/lib/systemd/"  # targets the unit refers to
unit="$stage/lib/systemd/system/peat-node.service"
# verify exits 0 on unknown keys and bad values, which it only prints: any output fails.
verify_out="$(systemd-analyze verify --man=no --root="$stage" "$unit" 2>&1)" ||
  fail "systemd-analyze verify: $verify_out"
[[ -z $verify_out ]] || fail "systemd-analyze verify printed: $verify_out"
if ! grep -qx 'Documentation=man:peat-node(1)' "$unit" || [[ ! -f $stage/usr/share/man/man1/peat-node.1.gz ]]; then
  fail "Documentation= names a man page the package does not ship"
fi

step "systemd-analyze security --offline=yes --threshold=20"
security_out="$(systemd-analyze security --offline=yes --threshold=20 --root="$stage" "$unit" 2>&1)" ||
  { echo "$security_out" | grep -E '✗' >&2 || true; fail "exposure above 2.0: $(echo "$security_out" | tail -1)"; }
score="$(echo "$security_out" | sed -n 's/.*Overall exposure level for peat-node.service: \([0-9.]*\).*/\1/p')"
[[ -n $score ]] || fail "no exposure score in: $(echo "$security_out" | tail -3)"
log "exposure $score ($(echo "$security_out" | tail -1 | sed 's/.*: [0-9.]* //'))"

# ---- 4. lintian ----
step "lintian"
allowlist="$repo/packaging/deb/lintian-allowlist"
lintian --tag-display-limit 0 --display-level '>=pedantic' --display-experimental "$deb" \
  2>/dev/null >"$work/lintian.out" || true # exit status 1 on any error tag; judged below
sed -n 's/^[EWIPX]: peat-node[^:]*: //p' "$work/lintian.out" | sort -u >"$work/lintian.tags"
grep -v '^\s*\(#\|$\)' "$allowlist" | sort -u >"$work/lintian.allowed"
unexpected="$(comm -23 "$work/lintian.tags" "$work/lintian.allowed")"
[[ -z $unexpected ]] || { cat "$work/lintian.out" >&2; fail "lintian tags outside $allowlist: $unexpected"; }
stale="$(comm -13 "$work/lintian.tags" "$work/lintian.allowed")"
[[ -z $stale ]] || log "note: allowlist entries lintian no longer reports: $stale"
log "lintian: $(wc -l <"$work/lintian.tags") tag(s), all allowlisted"

# ---- Debian 12 roots ----
base="$(bash "$repo/scripts/package/debian-base.sh")"
apt_lists="$cache/deb-check-apt/lists"
apt_archives="$cache/deb-check-apt/archives"
mkdir -p "$apt_lists/partial" "$apt_archives/partial"

# A fresh root from the base tarball, apt lists and downloads shared through the cache, both .debs
# in its /root.
make_root() {
  local root="$1"
  mkdir -p "$root"
  tar -xf "$base" -C "$root"
  cp "$deb" "$deb2" "$root/root/"
}
mount_root() {
  local root="$1"
  mount --bind "$apt_lists" "$root/var/lib/apt/lists"
  mount --bind "$apt_archives" "$root/var/cache/apt/archives"
  mount -t proc proc "$root/proc"
}
umount_root() {
  local root="$1"
  umount "$root/proc" "$root/var/cache/apt/archives" "$root/var/lib/apt/lists"
}
in_root() {
  local root="$1"
  shift
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LC_ALL=C.UTF-8 "$@"
}
# apt-get install in the root; the cached lists are refreshed when empty or when the install fails
# (a mirror moved on).
root_apt_install() {
  local root="$1"
  shift
  if ! compgen -G "$apt_lists/*_Packages*" >/dev/null; then in_root "$root" apt-get update -qq; fi
  in_root "$root" apt-get install -y -qq "$@" >"$work/apt.log" 2>&1 ||
    { in_root "$root" apt-get update -qq && in_root "$root" apt-get install -y -qq "$@" >"$work/apt.log" 2>&1; } ||
    { cat "$work/apt.log" >&2; fail "apt-get install $* in $root"; }
}
# "mode owner:group" of a path in the root.
mode_of() { in_root "$1" stat -c '%a %U:%G' "$2"; }
expect_mode() {
  local got
  got="$(mode_of "$1" "$2")"
  [[ $got == "$3" ]] || fail "$2: $got, expected $3"
}

# ---- 5. install → upgrade → purge without systemd ----
r1="$work/root1"
step "root without systemd: apt-get install ./$(basename "$deb")"
make_root "$r1"
mount_root "$r1"
root_apt_install "$r1" "/root/$(basename "$deb")"
[[ -z $(in_root "$r1" sh -c 'command -v systemctl || true') ]] || fail "root1 has systemd; the no-systemd path is untested"
env_file=/etc/peat-node/peat-node.env
example=/usr/share/peat-node/peat-node.env.example

IFS=: read -r _ _ uid _ gecos home shell < <(in_root "$r1" getent passwd peat) || fail "no user peat"
in_root "$r1" getent group peat >/dev/null || fail "no group peat"
((uid < 1000)) || fail "peat is not a system user (uid $uid)"
[[ $home == /var/lib/peat-node && $shell == /usr/sbin/nologin ]] || fail "peat: home $home shell $shell"
[[ $gecos == "peat-node daemon"* ]] || fail "peat: gecos '$gecos'"
check_installed_modes() {
  expect_mode "$1" /usr/bin/peat-node "755 root:root"
  expect_mode "$1" /lib/systemd/system/peat-node.service "644 root:root"
  expect_mode "$1" /etc/peat-node "755 root:root"
  expect_mode "$1" "$env_file" "640 root:peat"
  expect_mode "$1" "$example" "644 root:root"
  expect_mode "$1" /var/lib/peat-node "700 peat:peat"
}
check_installed_modes "$r1"
[[ -L $r1/etc/systemd/system/multi-user.target.wants/peat-node.service ]] ||
  fail "deb-systemd-helper did not enable the unit (no multi-user.target.wants symlink)"
got="$(in_root "$r1" peat-node --version)"
[[ $got == "peat-node $version" ]] || fail "peat-node --version in the root: $got"

step "root without systemd: the node runs as peat on the packaged config"
# As the unit would run it, minus systemd: user peat, the env file (readable through group peat),
# the state dir; TCP on a free port instead of the configured listeners (/run/peat-node is made by
# RuntimeDirectory= only).
# Every step execs the next, so $! is the node itself.
chroot "$r1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/bin chroot --userspec=peat:peat / /bin/sh -c \
  "set -a; . $env_file; exec /usr/bin/peat-node --listen tcp://127.0.0.1:0" >"$work/run.log" 2>&1 &
node_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n '/mesh/d; s#.*listening on tcp://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$work/run.log" | head -1)"
  [[ -n $port ]] && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || { kill "$node_pid" 2>/dev/null || true; cat "$work/run.log" >&2; fail "the node did not start as peat"; }
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/readyz" || true)"
kill -TERM "$node_pid"
rc=0
wait "$node_pid" || rc=$?
[[ $code == 200 ]] || { cat "$work/run.log" >&2; fail "/readyz answered $code"; }
((rc == 0)) || { cat "$work/run.log" >&2; fail "the node exited $rc after SIGTERM"; }
[[ -f $r1/var/lib/peat-node/node-id ]] || fail "no node-id persisted in /var/lib/peat-node"
expect_mode "$r1" /var/lib/peat-node/node-id "600 peat:peat"

step "root without systemd: upgrade to $upgrade_version keeps a conffile edit"
echo "PEAT_NODE_LOG_LEVEL=debug" >>"$r1$env_file"
root_apt_install "$r1" "/root/$(basename "$deb2")"
# shellcheck disable=SC2016 # ${Version} is dpkg-query's field, not a shell expansion
[[ $(in_root "$r1" dpkg-query -W -f '${Version}' peat-node) == "$upgrade_version" ]] || fail "not upgraded"
grep -qx PEAT_NODE_LOG_LEVEL=debug "$r1$env_file" || fail "the conffile edit was lost on upgrade"
if compgen -G "$r1/etc/peat-node/*.dpkg-*" >/dev/null; then fail "dpkg left $(ls "$r1"/etc/peat-node/*.dpkg-*)"; fi
check_installed_modes "$r1"
[[ -f $r1/var/lib/peat-node/node-id ]] || fail "the upgrade lost the node's state"

step "root without systemd: env file restored after truncation and after deletion"
for damage in truncate delete; do
  if [[ $damage == truncate ]]; then : >"$r1$env_file"; else rm "$r1$env_file"; fi
  in_root "$r1" dpkg -i "/root/$(basename "$deb2")" >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log" >&2; fail "reinstall after $damage"; }
  cmp -s "$r1$env_file" "$r1$example" || fail "env file not restored after $damage"
  expect_mode "$r1" "$env_file" "640 root:peat"
  grep -q "restored from" "$work/dpkg.log" || fail "postinst did not say it restored the env file"
done

step "root without systemd: remove keeps the state, purge deletes it"
in_root "$r1" dpkg --remove peat-node >/dev/null
[[ ! -e $r1/usr/bin/peat-node ]] || fail "remove left the binary"
[[ -f $r1/var/lib/peat-node/node-id && -f $r1$env_file ]] || fail "remove deleted state or configuration"
in_root "$r1" dpkg --purge peat-node >/dev/null
[[ ! -e $r1/var/lib/peat-node ]] || fail "purge left /var/lib/peat-node"
[[ ! -e $r1$env_file ]] || fail "purge left $env_file"
[[ ! -e $r1/etc/systemd/system/multi-user.target.wants/peat-node.service ]] || fail "purge left the enable symlink"
umount_root "$r1"
rm -rf --one-file-system "$r1"

# ---- 6. systemd as PID 1 ----
r2="$work/root2"
step "root with systemd: apt-get install systemd ./$(basename "$deb")"
make_root "$r2"
mount_root "$r2"
root_apt_install "$r2" --no-install-recommends systemd dbus "/root/$(basename "$deb")"
gecos="$(in_root "$r2" getent passwd peat | cut -d: -f5)"
[[ $gecos == "peat-node daemon" ]] || fail "with systemd-sysusers present, peat should come from sysusers.d (gecos '$gecos')"
umount_root "$r2"

skip() {
  log "SKIPPED systemd as PID 1: $*"
  log "  (nspawn output: $(tail -5 "$work/nspawn.log" | tr '\n' ' '))"
  log "done in $((SECONDS - started))s (systemd-as-PID-1 checks SKIPPED)"
  exit 0
}
step "systemd-nspawn --boot"
systemd-nspawn --boot --directory="$r2" --machine="peat-check-deb-$$" --private-network \
  --register=no --keep-unit --console=read-only >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
state=""
in_ct() { nsenter --target "$init" --all "$@"; }
# The sandbox's part: a container whose systemd answers. Whatever fails after that is ours.
boot_started=$SECONDS
while :; do
  kill -0 "$nspawn_pid" 2>/dev/null || skip "systemd-nspawn exited before the container booted"
  [[ -n $init ]] || init="$(pgrep -P "$nspawn_pid" -x systemd || true)"
  if [[ -n $init ]]; then
    state="$(in_ct systemctl is-system-running 2>/dev/null || true)"
    [[ $state =~ ^(initializing|starting|running|degraded)$ ]] && break
  fi
  ((SECONDS - boot_started < 60)) || skip "no systemd answered in the container within 60 s"
  sleep 0.2
done
log "container systemd answers ($state) after $((SECONDS - boot_started))s"

show() { in_ct systemctl show peat-node --value -p "$1"; }
# Type=notify: the unit turns active only on READY=1 (activating until then, failed on a crash).
until [[ $(show ActiveState) =~ ^(active|failed)$ ]]; do
  ((SECONDS - boot_started < 60)) || break
  sleep 0.2
done
journal() { in_ct journalctl -u peat-node --no-pager -n 30 >&2 || true; }
expect_active() {
  [[ $(show ActiveState) == active && $(show SubState) == running ]] ||
    { journal; fail "peat-node.service is $(show ActiveState)/$(show SubState) $*"; }
}
expect_active "after boot"
[[ $(show StatusText) == "serving on unix:///run/peat-node/api.sock, tcp://127.0.0.1:50051" ]] ||
  fail "STATUS= from READY=1: '$(show StatusText)'"
main_pid="$(show MainPID)"
[[ $(in_ct stat -c %U "/proc/$main_pid") == peat ]] || fail "the service does not run as peat"
[[ $(in_ct stat -c '%a %U:%G' /run/peat-node) == "750 peat:peat" ]] || fail "/run/peat-node: $(in_ct stat -c '%a %U:%G' /run/peat-node)"
[[ $(in_ct stat -c '%a %U:%G' /run/peat-node/api.sock) == "660 peat:peat" ]] || fail "api.sock: $(in_ct stat -c '%a %U:%G' /run/peat-node/api.sock)"
[[ $(in_ct stat -c '%a %U:%G' /var/lib/peat-node) == "700 peat:peat" ]] || fail "/var/lib/peat-node: $(in_ct stat -c '%a %U:%G' /var/lib/peat-node)"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "/proc/$init/root/run/peat-node/api.sock" http://localhost/readyz || true)"
[[ $code == 200 ]] || fail "/readyz over /run/peat-node/api.sock answered $code"
code="$(nsenter --target "$init" --net curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:50051/readyz || true)"
[[ $code == 200 ]] || fail "/readyz over 127.0.0.1:50051 answered $code"
# The installed CLI finds the service on its default address (/run/peat-node/api.sock exists).
cli_status="$(in_ct /usr/bin/peat status -o ndjson 2>&1)" || fail "peat status (default socket): $cli_status"
[[ $cli_status == *'"phase":"NODE_PHASE_'* ]] || fail "peat status printed: $cli_status"
exposure="$(in_ct systemd-analyze security peat-node.service 2>/dev/null | tail -1 | sed 's/.*: //')"
log "active as peat, /readyz 200 on the socket and on TCP, peat status on the default socket; live exposure $exposure"

step "systemd: upgrade restarts the service"
in_ct dpkg -i "/root/$(basename "$deb2")" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "upgrade under systemd"; }
expect_active "after the upgrade"
[[ $(show MainPID) != "$main_pid" ]] || fail "the upgrade did not restart the service (MainPID $main_pid)"

step "systemd: stop"
in_ct systemctl stop peat-node
[[ $(show ActiveState) == inactive && $(show Result) == success && $(show ExecMainStatus) == 0 ]] ||
  { journal; fail "stop: $(show ActiveState) result $(show Result) exit $(show ExecMainStatus)"; }
in_ct journalctl -u peat-node --no-pager | grep -q 'received SIGTERM, draining' || { journal; fail "no drain in the journal"; }

step "systemd: purge of a running service"
in_ct systemctl start peat-node
expect_active "after start"
in_ct dpkg --purge peat-node >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "purge under systemd"; }
[[ $(show ActiveState) != active ]] || fail "purge left the service running"
[[ ! -e $r2/var/lib/peat-node ]] || fail "purge left /var/lib/peat-node"

in_ct systemctl poweroff --no-block >/dev/null 2>&1 || true
for _ in $(seq 1 100); do
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$nspawn_pid" 2>/dev/null; then fail "the container did not power off within 20 s"; fi
wait "$nspawn_pid" || true
nspawn_pid=""
log "done in $((SECONDS - started))s: all checks passed (systemd as PID 1 included)"
