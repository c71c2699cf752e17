# Shared by the lint-check tests in this directory (sourced, not run). The sourcing script sets
# `check` (the script under test) and `work` (a temp dir whose `tree/` is the copy it checks), and
# ends with `finish`.
passed=0
failed=0

# expect NAME WANT_EXIT WANT_TEXT: runs the check on the copy; passes when it exits WANT_EXIT and
# its output contains WANT_TEXT.
expect() {
  local name="$1" want_exit="$2" want_text="$3" out code=0
  out="$(bash "$check" "$work/tree" 2>&1)" || code=$?
  if [[ $code -eq $want_exit && $out == *"$want_text"* ]]; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: exit $code (want $want_exit), output:"
    echo "$out" | sed 's/^/     /'
    echo "     (want it to contain: $want_text)"
    failed=$((failed + 1))
  fi
}

# finish: the summary line; fails the test if any expectation failed.
finish() {
  echo "$passed passed, $failed failed"
  ((failed == 0))
}
