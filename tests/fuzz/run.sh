#!/usr/bin/env bash
# run.sh — builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan, into
# build-fuzz/) and runs them, one at a time, each bounded in time and memory.
#
#   tests/fuzz/run.sh short              every target for WALFERRY_FUZZ_SECONDS (default 10) s,
#                                        its seeds replayed first; new inputs go to a temporary
#                                        directory (the tree is not changed). The test stage.
#   tests/fuzz/run.sh long SECONDS [T..] a campaign: every target (or the ones named) for SECONDS
#                                        each; the corpus grows in build-fuzz/corpus/TARGET/
#                                        and is kept for the next campaign. It goes on past
#                                        findings (-fork=1 -ignore_crashes=1) and saves each.
#   tests/fuzz/run.sh known              replays tests/fuzz/known/TARGET/*: reproducers of
#                                        findings not fixed yet; says which still fail and which
#                                        pass now (move those to corpus/TARGET/). Exit 0 when none fails.
#   tests/fuzz/run.sh build              only configure and build.
#
# Exit 0 only if every target ran its time without a crash, a sanitizer report, a
# leak, a timeout (-timeout, 10 s per input) or running out of memory (-rss_limit_mb).
# Each failure leaves its input in build-fuzz/artifacts/TARGET/ (crash-*, leak-*,
# timeout-*, oom-*); replay one with  build-fuzz/tests/fuzz/TARGET FILE.
# One summary line per target: "fuzz: TARGET: N runs, cov C, ft F, ok|FAILED".
#
# Environment: WALFERRY_FUZZ_BUILD_DIR (default build-fuzz), WALFERRY_FUZZ_SECONDS (short, default 10),
# WALFERRY_FUZZ_RSS_MB (default 2048), WALFERRY_FUZZ_NICE (default 0: the nice level to run
# at), CMAKE_BUILD_PARALLEL_LEVEL (default 2), CC/CXX (default clang/clang++).
# The targets open no socket; their scratch files go to a temporary directory removed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/fuzz
BUILD=${WALFERRY_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
RSS_MB=${WALFERRY_FUZZ_RSS_MB:-2048}
NICE=${WALFERRY_FUZZ_NICE:-0}
say() { echo "fuzz: $*"; }
usage() {
  sed -n '2,/^# Exit 0/p' "$0" | sed '$d' >&2
  exit 2
}

mode=${1:-}
case "$mode" in
  short) seconds=${WALFERRY_FUZZ_SECONDS:-10}; shift ;;
  long)
    [ $# -ge 2 ] || usage
    seconds=$2; shift 2 ;;
  build | known) shift ;;
  *) usage ;;
esac
if [ "$mode" = short ] || [ "$mode" = long ]; then
  [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { say "SECONDS must be a positive number, got '$seconds'"; exit 2; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/walferry-fuzz-run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

say "building into $BUILD (clang, -fsanitize=fuzzer,address,undefined)"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWALFERRY_FUZZ=ON -DWALFERRY_BUILD_TESTS=OFF -DWALFERRY_BUILD_BENCH=OFF >"$TMP/cmake.log" 2>&1 ||
  { cat "$TMP/cmake.log" >&2; say "FAILED: cmake (is clang installed? scripts/install-deps.sh)"; exit 1; }
nice -n "$NICE" cmake --build "$BUILD" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" --target walferry_fuzz \
  >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log" >&2; say "FAILED: build"; exit 1; }
[ "$mode" != build ] || exit 0

if [ "$mode" = known ]; then
  still=0
  for f in "$HERE"/known/*/*; do
    [ -f "$f" ] || continue
    t=$(basename "$(dirname "$f")")
    mkdir -p "$TMP/scratch/$t"
    if TMPDIR=$TMP/scratch/$t "$BUILD/tests/fuzz/$t" "$f" >"$TMP/known.log" 2>&1; then
      say "$t: $(basename "$f"): passes now (move it to tests/fuzz/corpus/$t/)"
    else
      still=$((still + 1))
      say "$t: $(basename "$f"): still fails: $(grep -m1 -E 'what\(\)|runtime error|fuzz invariant|ERROR: ' "$TMP/known.log" || true)"
    fi
  done
  [ "$still" -eq 0 ] || { say "$still known findings still fail"; exit 1; }
  say "no known finding fails"
  exit 0
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$HERE"/fuzz_*.cc; do targets+=("$(basename "$src" .cc)"); done
fi

failed=0
for t in "${targets[@]}"; do
  bin=$BUILD/tests/fuzz/$t
  [ -x "$bin" ] || { say "$t: no such target (tests/fuzz/$t.cc)"; failed=$((failed + 1)); continue; }
  seeds=$HERE/corpus/$t
  if [ "$mode" = long ]; then
    corpus=$BUILD/corpus/$t
  else
    corpus=$TMP/corpus/$t
  fi
  artifacts=$BUILD/artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$TMP/scratch/$t"
  log=$BUILD/logs/$t.$mode.log
  mkdir -p "$(dirname "$log")"
  rc=0
  # A campaign goes on past a finding (-fork=1 -ignore_crashes=1: each crash is
  # saved in artifacts/ and counted); the short run stops at the first one.
  extra=()
  [ "$mode" != long ] || extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  before=$(find "$artifacts" -type f | wc -l)
  TMPDIR=$TMP/scratch/$t ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice -n "$NICE" "$bin" -max_total_time="$seconds" -rss_limit_mb="$RSS_MB" -timeout=10 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "${extra[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  found=$(($(find "$artifacts" -type f | wc -l) - before))
  [ "$found" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -nE 's/^#([0-9]+).*/\1/p')
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
  ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
  if [ "$rc" -eq 0 ]; then
    say "$t: ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, ok (${seconds} s)"
  else
    failed=$((failed + 1))
    say "$t: ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, FAILED (exit $rc, $found new inputs in $artifacts); log $log"
    grep -E 'ERROR: |SUMMARY: |fuzz invariant|runtime error|Test unit written|^    #[0-9] ' "$log" | head -n 30 >&2 || true
  fi
done
if [ "$failed" -ne 0 ]; then
  say "FAILED: $failed of ${#targets[@]} targets"
  exit 1
fi
say "all ${#targets[@]} targets ok"
