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

# shellcheck source=scripts/npm-ci-if-changed.sh
source "$repo_root/scripts/npm-ci-if-changed.sh"
npm_ci_if_changed build-console "$console_dir" esbuild buf

node "$console_dir/build.mjs" --out "$out"
