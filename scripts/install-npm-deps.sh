#!/usr/bin/env bash
# Installs the pinned npm client toolchain of the integration tests (tests/clients) and generates
# the ES code for the protos into tests/clients/gen/. Idempotent: `npm ci` runs only when
# node_modules is missing or package-lock.json changed since the last install; codegen always runs
# (it is quick and keeps gen/ in step with proto/).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clients="$repo_root/tests/clients"
cd "$clients"

command -v node >/dev/null 2>&1 || { echo "install-npm-deps: node not found (run scripts/install-deps.sh)" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "install-npm-deps: npm not found" >&2; exit 2; }

# shellcheck source=scripts/npm-ci-if-changed.sh
source "$repo_root/scripts/npm-ci-if-changed.sh"
npm_ci_if_changed install-npm-deps "$clients" buf

echo "install-npm-deps: buf generate -> tests/clients/gen"
node_modules/.bin/buf generate --template buf.gen.yaml
