#!/usr/bin/env bash
# Lints the public protos and proves wire compatibility with `buf breaking` (FILE rules).
#
# Baseline: the previous commit (HEAD~1) of the current branch, compared against the working tree,
# so both the last commit's and any uncommitted proto changes are checked. Override with
# BUF_AGAINST='<buf input>' (e.g. BUF_AGAINST='.git#branch=main,subdir=proto'). If no earlier commit
# holds the proto there is nothing to compare with: that is reported and breaking is skipped.
#
# Uses the buf binary from tests/clients/node_modules (run scripts/install-npm-deps.sh first).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

buf="$repo_root/tests/clients/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  echo "buf-check: $buf not found; run scripts/install-npm-deps.sh" >&2
  exit 2
fi

proto_file=proto/peat/sidecar/v1/sidecar.proto

echo "buf-check: buf lint"
"$buf" lint

if [[ -n "${BUF_AGAINST:-}" ]]; then
  against="$BUF_AGAINST"
else
  if ! git rev-parse --verify --quiet 'HEAD~1^{commit}' >/dev/null; then
    echo "buf-check: no previous commit (HEAD~1) to compare with; skipping buf breaking"
    exit 0
  fi
  if ! git cat-file -e "HEAD~1:$proto_file" 2>/dev/null; then
    echo "buf-check: HEAD~1 ($(git rev-parse --short HEAD~1)) has no $proto_file; no baseline, skipping buf breaking"
    exit 0
  fi
  # subdir=proto: the module root, so the baseline's file paths match the working tree's even in
  # commits that predate buf.yaml.
  against=".git#ref=HEAD~1,subdir=proto"
fi

echo "buf-check: buf breaking --against '$against'"
"$buf" breaking --against "$against"
echo "buf-check: OK"
