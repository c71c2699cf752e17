#!/usr/bin/env bash
# Proves scripts/check-doc-citations.sh can fail: on a copy of src/, tests/ and docs/ it must pass as
# the tree is, then fail (exit 1, naming file:line) on a citation of a missing file, a missing
# section, a missing numbered item and a missing § paragraph.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
check="$repo/scripts/check-doc-citations.sh"
work="$(mktemp -d /tmp/peat-citations.XXXXXX)"
trap 'rm -rf "$work"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/expect.sh"

fresh_copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree/tests"
  cp -r "$repo/src" "$repo/docs" "$repo/README.md" "$work/tree/"
  cp -r "$repo/tests/unit" "$work/tree/tests/"
}


# cite TEXT: appends a comment citing TEXT to a source file of the copy.
cite() { printf '// See %s.\n' "$1" >>"$work/tree/src/common/clock.cc"; }
line_of_last() { wc -l <"$work/tree/src/common/clock.cc" | tr -d ' '; }

fresh_copy
expect "the tree as it is resolves every citation" 0 "citations of design notes resolve"

cite 'NOWHERE.md "Anything"'
expect "a file that is not in the repo is refused" 1 "src/common/clock.cc:$(line_of_last): cites NOWHERE.md"

fresh_copy
cite 'BEHAVIOR.md "No such section"'
expect "a section the file does not have is refused" 1 "src/common/clock.cc:$(line_of_last): cites BEHAVIOR.md"

fresh_copy
cite 'LESSONS.md 99'
expect "a numbered item the file does not have is refused" 1 "has no such item"

fresh_copy
cite 'ATTACHMENTS.md §42'
expect "a § paragraph the file does not have is refused" 1 "has no such paragraph"

fresh_copy
rm "$work/tree/docs/spec/LESSONS.md"
expect "a spec file removed from docs/spec breaks its citations" 1 "cites LESSONS.md, which is neither"

finish
