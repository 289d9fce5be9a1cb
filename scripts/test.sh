#!/usr/bin/env bash
# test.sh — walferry's test command; CI runs it through .ci/run. From any directory:
#
#   1. installs the Debian packages (scripts/install-deps.sh; through sudo when not root),
#   2. configures and builds everything into build/ (cmake, RelWithDebInfo, 2 jobs),
#   3. starts the test S3 server (scripts/s3-server: one-node Ceph radosgw on 127.0.0.1
#      plus a stunnel TLS front) in a fresh temporary directory,
#   4. runs every test with ctest, each under a time limit, with the server described to
#      the tests by the WALFERRY_TEST_S3_* variables below,
#   5. stops the server it started (by pid, on any exit, INT and TERM included) and
#      removes the temporary directory.
# Exit 0 only if all of it succeeded. The last line is "test.sh: N passed, N failed" once
# ctest ran, else "test.sh: FAILED at <step>". On a failure after the server started, its
# logs are printed (last lines) and kept in build/test-logs/s3-server/.
#
# Read from the environment:
#   WALFERRY_TEST_S3_PORT      plain S3 port, default 19000 (the server also takes PORT+1..PORT+9)
#   WALFERRY_TEST_S3_TLS_PORT  TLS S3 port, default 19443
#   WALFERRY_TEST_TIMEOUT      seconds allowed per test that sets no TIMEOUT itself, default 600
#   CMAKE_BUILD_PARALLEL_LEVEL build jobs, default 2;  CTEST_PARALLEL_LEVEL  tests at once, default 1
#   WALFERRY_TEST_SANITIZE     1 (default): after ctest, also build the unit and conformance tests
#                              with ASan+UBSan (build-asan/) and TSan (build-tsan/) and run them
#                              against the same server; 0 skips that stage (for quick local loops)
#   WALFERRY_TEST_FUZZ         1 (default): after that, build the libFuzzer targets (clang,
#                              ASan+UBSan, build-fuzz/) and run each one briefly
#                              (tests/fuzz/run.sh short; WALFERRY_FUZZ_SECONDS per target,
#                              default 10); 0 skips that stage
# Given to the tests (other WALFERRY_* variables are unset, so a developer's own settings
# cannot leak into them):
#   WALFERRY_TEST_S3_ENDPOINT      http://127.0.0.1:PORT
#   WALFERRY_TEST_S3_TLS_ENDPOINT  https://127.0.0.1:TLSPORT
#   WALFERRY_TEST_S3_CA_FILE       the TLS front's self-signed certificate, to trust as CA
#   WALFERRY_TEST_S3_BUCKET        walferry-test   (path-style, region us-east-1)
#   WALFERRY_TEST_S3_ACCESS_KEY    walferry
#   WALFERRY_TEST_S3_SECRET_KEY    walferry-secret
#   WALFERRY_TEST_S3_DIR           the server's directory, and WALFERRY_TEST_S3_SCRIPTS the
#                                  absolute path of scripts/s3-server, so that a fault test can
#                                  run "$WALFERRY_TEST_S3_SCRIPTS/stop.sh $WALFERRY_TEST_S3_DIR 3-rgw"
#                                  and "$WALFERRY_TEST_S3_SCRIPTS/start.sh $WALFERRY_TEST_S3_DIR
#                                  $WALFERRY_TEST_S3_PORT" (~0.2 s) to bounce the gateway
#   WALFERRY_TEST_S3_PORT, WALFERRY_TEST_S3_TLS_PORT   the ports in use
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

PORT=${WALFERRY_TEST_S3_PORT:-19000}
TLS_PORT=${WALFERRY_TEST_S3_TLS_PORT:-19443}
TIMEOUT=${WALFERRY_TEST_TIMEOUT:-600}
STEP="checking ports" COUNTS="" STARTED=$SECONDS
say() { echo "test.sh: $*"; }

# shellcheck disable=SC2317 # called by the exit trap of common.sh
on_exit() {
  local rc=$1
  if [ "$rc" -ne 0 ] && { [ "$STEP" = tests ] || [ "$STEP" = "S3 server" ]; }; then
    s3_show_logs "$ROOT/build/test-logs/s3-server"
  fi
  if [ "$rc" -eq 0 ]; then
    say "OK: built, S3 server started and stopped, all tests passed ($((SECONDS - STARTED)) s)"
  else
    say "FAILED at $STEP (exit $rc, $((SECONDS - STARTED)) s)"
  fi
  # last line: ctest's counts, when it ran
  [ -z "$COUNTS" ] || say "$COUNTS"
}

# Fail fast, before the long build, if the ports are taken.
valid_port "$PORT" || { say "WALFERRY_TEST_S3_PORT must be a number in 1024..65525"; exit 2; }
valid_port "$TLS_PORT" || { say "WALFERRY_TEST_S3_TLS_PORT must be a number in 1024..65525"; exit 2; }
if [ "$TLS_PORT" -ge "$PORT" ] && [ "$TLS_PORT" -le $((PORT + 9)) ]; then
  say "WALFERRY_TEST_S3_TLS_PORT ($TLS_PORT) must not be in $PORT..$((PORT + 9)), used by the S3 server"
  exit 2
fi
require_free_ports "S3 server ports $PORT..$((PORT + 9)), set WALFERRY_TEST_S3_PORT for others" \
  $(seq "$PORT" $((PORT + 9)))
require_free_ports "TLS port, set WALFERRY_TEST_S3_TLS_PORT for another" "$TLS_PORT"

STEP="installing packages"
say "$STEP"
bash "$ROOT/scripts/install-deps.sh" </dev/null

STEP=build
say "building into build/"
rm -rf "$ROOT/build/test-logs"
build   # all targets

STEP="S3 server"
t=${EPOCHREALTIME//[!0-9]/}
s3_up "$PORT" "$TLS_PORT"
t=$(((${EPOCHREALTIME//[!0-9]/} - t) / 100000))
say "S3 server up in $((t / 10)).$((t % 10)) s: http://127.0.0.1:$PORT, https://127.0.0.1:$TLS_PORT ($S3_DIR)"

while read -r v; do unset "$v"; done < <(compgen -e | grep '^WALFERRY_' | grep -v '^WALFERRY_TEST_' || true)
export WALFERRY_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export WALFERRY_TEST_S3_TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT
export WALFERRY_TEST_S3_CA_FILE=$S3_CA_FILE
export WALFERRY_TEST_S3_BUCKET=walferry-test
export WALFERRY_TEST_S3_ACCESS_KEY=walferry
export WALFERRY_TEST_S3_SECRET_KEY=walferry-secret
export WALFERRY_TEST_S3_DIR=$S3_DIR
export WALFERRY_TEST_S3_SCRIPTS=$S3_SCRIPTS
export WALFERRY_TEST_S3_PORT=$PORT WALFERRY_TEST_S3_TLS_PORT=$TLS_PORT

STEP=tests
say "running ctest (at most $TIMEOUT s per test)"
rc=0
run ctest --test-dir "$ROOT/build" --output-on-failure --no-tests=error --timeout "$TIMEOUT" \
  --output-log "$TMP/ctest.log" || rc=$?
# ctest's summary: "NN% tests passed, F tests failed out of T"; skipped ones are listed as "(Skipped)"
sanitized() {  # NAME MODE: build the test binaries with a sanitizer and run them
  local dir=$ROOT/build-$1 filter="*"
  # The power-cut tests replay a recovery hundreds of times; under TSan that takes minutes
  # and their timing (does the prefetcher get ahead?) no longer holds. They run in ctest and ASan.
  [ "$1" != tsan ] || filter="-*PowerCut*"
  say "sanitizer stage: $1 ($2), building into build-$1/"
  run cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DWALFERRY_SANITIZE="$2" \
      -DWALFERRY_BUILD_BENCH=OFF >/dev/null &&
    run cmake --build "$dir" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      --target walferry_unit_tests walferry_conformance_tests >/dev/null &&
    ASAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      run "$dir/tests/walferry_unit_tests" --gtest_brief=1 --gtest_filter="$filter" &&
    ASAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      run "$dir/tests/walferry_conformance_tests" --gtest_brief=1
}
if [ "$rc" -eq 0 ] && [ "${WALFERRY_TEST_SANITIZE:-1}" != 0 ]; then
  STEP="sanitizer tests"
  sanitized asan address || rc=$?
  [ "$rc" -ne 0 ] || sanitized tsan thread || rc=$?
  SANITIZER_FAILED=$rc
fi
if [ "$rc" -eq 0 ] && [ "${WALFERRY_TEST_FUZZ:-1}" != 0 ]; then
  STEP="fuzz tests"
  say "fuzz stage: every tests/fuzz target for ${WALFERRY_FUZZ_SECONDS:-10} s, building into build-fuzz/"
  run bash "$ROOT/tests/fuzz/run.sh" short || rc=$?
  FUZZ_FAILED=$rc
fi
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$TMP/ctest.log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  total=${summary##* out of } failed=$(echo "$summary" | sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/')
  skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$TMP/ctest.log" || true)
  passed=$((total - failed - skipped))
  # a failed sanitizer stage counts as one more failed test
  [ "${SANITIZER_FAILED:-0}" -eq 0 ] || failed=$((failed + 1))
  # and so does a failed fuzz stage
  [ "${FUZZ_FAILED:-0}" -eq 0 ] || failed=$((failed + 1))
  COUNTS="$passed passed, $failed failed"
  [ "$skipped" -eq 0 ] || COUNTS="$COUNTS, $skipped skipped"
fi
exit "$rc"
