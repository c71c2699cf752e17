#!/usr/bin/env bash
# Sourced by scripts that install a pinned npm package tree (install-npm-deps.sh,
# build-console.sh). Defines
#   npm_ci_if_changed LABEL DIR [BIN ...]
# which runs `npm ci` in DIR only when DIR/node_modules is missing, one of the named
# node_modules/.bin executables is missing, or package-lock.json / package.json changed since the
# last install (a sha256 stamp in node_modules/.peat-lock.sha256). It prints one line saying which.

npm_ci_if_changed() {
  local label="$1" dir="$2"
  shift 2
  local stamp="$dir/node_modules/.peat-lock.sha256" want have bin stale=0
  want="$(cd "$dir" && sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  [[ -d "$dir/node_modules" && "$want" == "$have" ]] || stale=1
  for bin in "$@"; do [[ -x "$dir/node_modules/.bin/$bin" ]] || stale=1; done
  if ((stale)); then
    echo "$label: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund)
    echo "$want" >"$stamp"
  else
    echo "$label: node_modules up to date"
  fi
}
