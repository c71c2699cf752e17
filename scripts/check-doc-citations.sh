#!/usr/bin/env bash
# Checks that every design note the code cites lives in the repo. A comment in src/ or tests/
# (except tests/layers/, whose tests cite missing notes on purpose) that cites `NAME.md` must find
# NAME.md at the top, docs/NAME.md or docs/spec/NAME.md, and what it points at must exist there:
#   NAME.md "Section"   a heading (`## Section…`, `## 3. Section…`) or a list item (`- Section…`)
#                       that starts with Section (case-insensitive);
#   NAME.md §N          a numbered heading `## N. …`;
#   NAME.md N           a numbered item `N. …` (LESSONS.md 11).
#
#   scripts/check-doc-citations.sh [ROOT]    ROOT (default: the repo) holds src/, tests/, docs/
#
# Exit 0 when every citation resolves; 1 with one line per broken citation (file:line: what is
# missing) otherwise.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"

# The docs a bare NAME.md may mean, in this order: the top-level README, our own docs, then the
# project spec kept in docs/spec/. A name can exist twice (docs/ATTACHMENTS.md, the user guide, and
# docs/spec/ATTACHMENTS.md, the spec): a citation with an anchor resolves when any of them has it.
resolve() {
  local name="$1" found=1
  for dir in . docs docs/spec; do
    [[ -f $dir/$name ]] && { echo "$dir/$name"; found=0; }
  done
  return $found
}

# has_anchor FILE KIND VALUE: the cited part exists in FILE.
has_anchor() {
  local file="$1" kind="$2" value="$3"
  case "$kind" in
    section)
      awk -v want="$(tr '[:upper:]' '[:lower:]' <<<"$value")" '
        {
          line = tolower($0)
          if (line ~ /^#+ /) { sub(/^#+ +/, "", line); sub(/^[0-9]+\. +/, "", line) }
          else if (line ~ /^- /) { sub(/^- +/, "", line); gsub(/\*\*/, "", line) }
          else next
          if (index(line, want) == 1) { found = 1; exit }
        }
        END { exit found ? 0 : 1 }' "$file"
      ;;
    paragraph) grep -qE "^#+ $value\. " "$file" ;;
    item) grep -qE "^$value\. " "$file" ;;
  esac
}

broken=0
cited=0
# file:line:match for every citation; the match is NAME.md plus what follows it.
while IFS= read -r hit; do
  where="${hit%%:*}"
  rest="${hit#*:}"
  line="${rest%%:*}"
  match="${rest#*:}"
  name="$(grep -oE '^[A-Z][A-Z_]+\.md' <<<"$match")"
  tail="${match#"$name"}"
  cited=$((cited + 1))
  if ! docs="$(resolve "$name")"; then
    echo "$where:$line: cites $name, which is neither docs/$name nor docs/spec/$name"
    broken=$((broken + 1))
    continue
  fi
  kind="" value=""
  if [[ $tail =~ ^\ \"([^\"]+)\" ]]; then
    kind=section value="${BASH_REMATCH[1]}"
  elif [[ $tail =~ ^\ §([0-9]+) ]]; then
    kind=paragraph value="${BASH_REMATCH[1]}"
  elif [[ $tail =~ ^\ ([0-9]+)([^0-9.]|$) ]]; then
    kind=item value="${BASH_REMATCH[1]}"
  fi
  if [[ -n $kind ]]; then
    anchored=0
    while IFS= read -r doc; do
      if has_anchor "$doc" "$kind" "$value"; then anchored=1; break; fi
    done <<<"$docs"
    if ((anchored == 0)); then
      echo "$where:$line: cites $name ${tail# } but ${docs//$'\n'/ or } has no such $kind"
      broken=$((broken + 1))
    fi
  fi
done < <(grep -rnoE '\b[A-Z][A-Z_]+\.md( "[^"]+"| §[0-9]+| [0-9]+)?' src tests \
  --include='*.h' --include='*.cc' --include='*.sh' --include='*.mjs' --include='*.cmake' \
  --include=CMakeLists.txt | grep -vE '^tests/(clients|layers)/' || true)

if ((broken > 0)); then
  echo "check-doc-citations: $broken of $cited citations do not resolve"
  exit 1
fi
echo "check-doc-citations: all $cited citations of design notes resolve in docs/"
