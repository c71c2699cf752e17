#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*.cc) with clang + ASan + UBSan in build-fuzz and runs each
# for FUZZ_SECONDS (default 20) on a scratch copy of its seed corpus (fuzz/corpus/<target>/): new
# corpus entries and crash inputs go to a temporary directory, never into the repository.
# Exits non-zero if any fuzzer crashes (sanitizer report, failed invariant, timeout or OOM); the
# scratch directory is then kept and the crashing inputs are listed.
#
# Seed files named crash-* are reproducers of bugs found earlier: each is replayed on its own first
# (failing the run while it still crashes) and left out of the fuzzing corpus, so the fuzzer keeps
# looking for new bugs instead of stopping at a known one.
#
#   scripts/fuzz.sh                    all fuzzers
#   scripts/fuzz.sh router_fuzzer      only some
#   FUZZ_SECONDS=300 scripts/fuzz.sh   longer runs
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD (build dir, default build-fuzz), FUZZ_KEEP=1 (keep the
# scratch directory), FUZZ_ARGS (extra libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to keep
# fuzzing past crashes), JOBS (build parallelism).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD:-$ROOT/build-fuzz}"
SECS="${FUZZ_SECONDS:-20}"
JOBS="${JOBS:-$(nproc)}"
ALL=(envelope_fuzzer timeout_fuzzer base64_fuzzer gzip_fuzzer router_fuzzer bidi_stream_fuzzer
  request_decode_fuzzer
  mesh_frame_fuzzer mesh_blob_frame_fuzzer document_state_fuzzer blob_manifest_fuzzer
  attach_status_doc_fuzzer agent_status_fuzzer agent_packages_fuzzer agent_pulled_fuzzer
  mdns_fuzzer)
if [[ $# -gt 0 ]]; then FUZZERS=("$@"); else FUZZERS=("${ALL[@]}"); fi

if ! grep -q 'add_subdirectory(fuzz)' "$ROOT/CMakeLists.txt"; then
  cat >&2 <<'EOF'
fuzz: the root CMakeLists.txt does not know PEAT_FUZZ yet. Add, after option(PEAT_BUILD_TESTS ...):
  option(PEAT_FUZZ "Build libFuzzer targets (clang only; instruments every library)" OFF)
after the PEAT_SANITIZE block (before any add_subdirectory):
  if(PEAT_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=address,undefined)
  endif()
and at the end:
  if(PEAT_FUZZ)
    add_subdirectory(fuzz)
  endif()
EOF
  exit 2
fi

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found" >&2; exit 2; }

start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPEAT_FUZZ=ON -DPEAT_BUILD_TESTS=OFF \
  >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target "${FUZZERS[@]}"
built=$(date +%s)
echo "fuzz: built ${#FUZZERS[@]} fuzzer(s) in $((built - start)) s"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/peat-fuzz.XXXXXX")"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=()
for f in "${FUZZERS[@]}"; do
  dir="$WORK/$f"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  repros=()
  if [[ -d "$ROOT/fuzz/corpus/$f" ]]; then
    cp -R "$ROOT/fuzz/corpus/$f/." "$dir/corpus/"
    while IFS= read -r -d '' r; do repros+=("$r"); done \
      < <(find "$ROOT/fuzz/corpus/$f" -type f -name 'crash-*' -print0 | sort -z)
    find "$dir/corpus" -type f -name 'crash-*' -delete
  fi
  for r in "${repros[@]}"; do
    if "$BUILD/fuzz/$f" "$r" >"$dir/repro.log" 2>&1; then
      echo "fuzz: $f: reproducer ${r#"$ROOT"/} passes now (the bug is fixed)"
    else
      failed=1
      echo "fuzz: $f: known crash still reproduces: ${r#"$ROOT"/}"
      grep -E 'FUZZ_CHECK failed|ERROR: AddressSanitizer|runtime error' "$dir/repro.log" | head -3 |
        sed 's/^/  /'
      summary+=("fuzz: $f: known crash still reproduces: ${r#"$ROOT"/}")
    fi
  done
  seeds=$(find "$dir/corpus" -type f | wc -l)
  dict=()
  if [[ -f "$ROOT/fuzz/$f.dict" ]]; then dict=(-dict="$ROOT/fuzz/$f.dict"); fi
  echo "fuzz: running $f for $SECS s ($seeds seeds)"
  rc=0
  # shellcheck disable=SC2086
  "$BUILD/fuzz/$f" -max_total_time="$SECS" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$dir/corpus" \
    >"$dir/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  if [[ $rc -ne 0 ]]; then
    failed=1
    # libFuzzer prints no final stats on a crash: take the last progress line's count.
    [[ -n "$execs" ]] || execs=$(grep -o '^#[0-9]*' "$dir/log" | tail -1 | tr -d '#')
    echo "fuzz: $f FAILED (exit $rc); log $dir/log; crashing input(s):"
    find "$dir/artifacts" -type f | sed 's/^/  /'
    # The failure and the frames in this repository's code.
    grep -E 'ERROR: |FUZZ_CHECK failed|runtime error|SUMMARY: ' "$dir/log" | head -5 | sed 's/^/  /'
    grep -E '^ +#[0-9]+ .* /[^ ]*/(src|fuzz)/[^ /]+/?[^ ]*\.(cc|h)(:[0-9]+)*$' "$dir/log" | head -12 |
      sed 's/^/  /'
    summary+=("fuzz: $f: CRASH after ${execs:-?} execs (exit $rc), artifacts in $dir/artifacts")
  else
    summary+=("fuzz: $f: ok, ${execs:-?} execs in $SECS s (${speed:-?} exec/s), corpus $seeds -> $corpus")
  fi
done

if [[ $failed -ne 0 || -n "${FUZZ_KEEP:-}" ]]; then
  echo "fuzz: scratch directory kept: $WORK"
else
  rm -rf "$WORK"
fi
echo "fuzz: total $(($(date +%s) - start)) s"
printf '%s\n' "${summary[@]}"
exit "$failed"
