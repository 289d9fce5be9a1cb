#!/usr/bin/env bash
# demo.sh — walferry's demo command. From any directory:
#
#   1. installs the Debian packages (scripts/install-deps.sh; through sudo when not root),
#   2. builds the walferry binary into build/ (shared with scripts/test.sh),
#   3. starts the test S3 server (Ceph radosgw on 127.0.0.1) and its TLS front in a fresh
#      temporary directory (scripts/s3-server),
#   4. runs "walferry check" on a file:// repository in that directory, then on an s3://
#      repository over HTTPS with certificate verification against the server's own CA
#      file, and shows each command, its output and its exit status,
#   5. runs walferry's main job end to end on a throwaway PostgreSQL 15: repo-create, WAL
#      archived by archive_command = 'walferry archive-push %p' under a pgbench load, a
#      base backup, then a point-in-time recovery that reads every WAL file back through
#      restore_command = 'walferry archive-get %f %p', and prints what it verified
#      (tests/e2e/pg/run.sh pitr file); then the same with walferry alone through the S3
#      server: walferry backup-push under pgbench, backup-list, backup-fetch LATEST
#      --target-time, and an exact recovery (tests/e2e/pg/run.sh backup_pitr s3),
#   6. stops what it started (by pid, on any exit) and removes the temporary directory.
# Exit 0 only if all of it succeeded. Ports: WALFERRY_DEMO_S3_PORT (default 19000; the
# server also takes PORT+1..PORT+9) and WALFERRY_DEMO_S3_TLS_PORT (default 19443).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

PORT=${WALFERRY_DEMO_S3_PORT:-19000}
TLS_PORT=${WALFERRY_DEMO_S3_TLS_PORT:-19443}
say() { echo "demo.sh: $*"; }
# shellcheck disable=SC2317 # called by the exit trap of common.sh
on_exit() {
  if [ "$1" -eq 0 ]; then
    say "OK: walferry check passed on a file:// and an s3:// (HTTPS) repository, and point-in-time recoveries through both were exact; server stopped"
  else
    say "FAILED (exit $1)"
  fi
}

if ! valid_port "$PORT" || ! valid_port "$TLS_PORT"; then
  say "WALFERRY_DEMO_S3_PORT / WALFERRY_DEMO_S3_TLS_PORT must be numbers in 1024..65525"
  exit 2
fi
require_free_ports "S3 server ports $PORT..$((PORT + 9)), set WALFERRY_DEMO_S3_PORT for others" \
  $(seq "$PORT" $((PORT + 9)))
require_free_ports "TLS port, set WALFERRY_DEMO_S3_TLS_PORT for another" "$TLS_PORT"

say "installing packages"
bash "$ROOT/scripts/install-deps.sh" </dev/null
say "building build/walferry (a few minutes the first time)"
build walferry >/dev/null
say "starting the S3 server (one-node Ceph radosgw) and its TLS front"
s3_up "$PORT" "$TLS_PORT"
say "S3 server: http://127.0.0.1:$PORT and https://127.0.0.1:$TLS_PORT (CA file $S3_CA_FILE)"
say "bucket walferry-test, path-style, region us-east-1; credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
export AWS_ACCESS_KEY_ID=walferry AWS_SECRET_ACCESS_KEY=walferry-secret
unset AWS_SESSION_TOKEN

failures=0
# check DESCRIPTION ARGS... — run build/walferry check ARGS, show it and its outcome
check() {
  local what=$1 rc=0
  shift
  echo
  say "$what"
  echo "+ build/walferry check $*"
  "$ROOT/build/walferry" check "$@" </dev/null || rc=$?
  if [ "$rc" -eq 0 ]; then say "=> OK (exit 0)"; else say "=> FAILED (exit $rc)"; failures=$((failures + 1)); fi
}

check "1/4 check: a repository in a local directory" --repo "file://$TMP/repo"
check "2/4 check: a repository in S3, over HTTPS, the server's certificate verified" \
  --repo s3://walferry-test/demo --s3-endpoint "https://127.0.0.1:$TLS_PORT" \
  --s3-ca-file "$S3_CA_FILE" --s3-uri-style path --s3-region us-east-1

# pitr WHAT SCENARIO BACKEND — a point-in-time recovery scenario, showing what it verified
pitr() {
  local what=$1 scenario=$2 backend=$3 rc=0
  echo
  say "$what"
  echo "+ tests/e2e/pg/run.sh $scenario $backend build/walferry"
  WALFERRY_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT WALFERRY_TEST_S3_TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT \
    WALFERRY_TEST_S3_CA_FILE=$S3_CA_FILE WALFERRY_TEST_S3_BUCKET=walferry-test \
    WALFERRY_TEST_S3_ACCESS_KEY=walferry WALFERRY_TEST_S3_SECRET_KEY=walferry-secret \
    run bash "$ROOT/tests/e2e/pg/run.sh" "$scenario" "$backend" "$ROOT/build/walferry" || rc=$?
  if [ "$rc" -eq 0 ]; then say "=> OK: point-in-time recovery verified"; else say "=> FAILED (exit $rc)"; failures=$((failures + 1)); fi
}
pitr "3/4 archive, base backup and point-in-time recovery with PostgreSQL 15: file:// repository" pitr file
pitr "4/4 walferry alone through the S3 server (HTTPS): backup-push, backup-fetch, exact point-in-time recovery" backup_pitr s3
echo
[ "$failures" -eq 0 ]
