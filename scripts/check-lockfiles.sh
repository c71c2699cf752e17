#!/usr/bin/env bash
# Every package-lock.json the repo ships must install with `npm ci` on a fresh machine (the npm
# that comes with the machine's node). Each package.json + package-lock.json pair git tracks is
# copied into an empty temporary directory and installed there with `npm ci`, exactly as the
# scripts that use it do (bench/*.sh, scripts/install-npm-deps.sh); the working tree is not
# touched. Fails, naming the lockfile, on the first one npm refuses.
#
# Why it exists: npm ci refuses a lock that is out of step with package.json, e.g. one written by
# another npm that left out optional platform packages (bench/mesh: cbor-extract's binaries).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
command -v npm >/dev/null 2>&1 || { echo "check-lockfiles: npm not found (run scripts/install-deps.sh)" >&2; exit 2; }

work="$(mktemp -d /tmp/peat-lockcheck.XXXXXX)"
trap 'rm -rf "$work"' EXIT

count=0
while IFS= read -r lock; do
  dir="$(dirname "$lock")"
  [[ -f "$dir/package.json" ]] || { echo "check-lockfiles: $lock has no package.json beside it" >&2; exit 1; }
  target="$work/$count"
  mkdir -p "$target"
  cp "$dir/package.json" "$lock" "$target/"
  if ! out="$(cd "$target" && npm ci --no-audit --no-fund --loglevel=error 2>&1)"; then
    echo "check-lockfiles: npm ci refuses $lock:" >&2
    echo "$out" | grep -v '^npm error *$' | head -20 >&2
    echo "check-lockfiles: regenerate it with 'npm install --package-lock-only' in $dir" >&2
    exit 1
  fi
  echo "check-lockfiles: $lock installs with npm ci"
  rm -rf "$target"
  count=$((count + 1))
done < <(git ls-files '*package-lock.json')

((count > 0)) || { echo "check-lockfiles: no package-lock.json found" >&2; exit 1; }
echo "check-lockfiles: $count lockfiles install with npm $(npm --version)"
