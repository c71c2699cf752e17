#!/usr/bin/env bash
# Builds the web console bundle (console/) into OUT_DIR: index.html, console.js, console.css,
# favicon.svg and a .gz of each (see console/build.mjs). CMake runs exactly
#   bash scripts/build-console.sh <build>/console/dist
# and embeds what it writes. Idempotent: `npm ci` runs only when console/node_modules is missing or
# console/package-lock.json (or package.json) changed since the last install; codegen and the
# bundle always run (about a second) and rewrite OUT_DIR.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: scripts/build-console.sh OUT_DIR" >&2
  exit 2
fi
out="$1"
[[ "$out" = /* ]] || out="$PWD/$out"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
console_dir="$repo_root/console"
cd "$console_dir"

command -v node >/dev/null 2>&1 || { echo "build-console: node not found (run scripts/install-deps.sh)" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "build-console: npm not found (run scripts/install-deps.sh)" >&2; exit 2; }

stamp="node_modules/.peat-lock.sha256"
want="$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"

if [[ ! -d node_modules || "$want" != "$have" || ! -x node_modules/.bin/esbuild || ! -x node_modules/.bin/buf ]]; then
  echo "build-console: npm ci"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

node "$console_dir/build.mjs" --out "$out"
