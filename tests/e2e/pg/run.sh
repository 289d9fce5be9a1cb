#!/usr/bin/env bash
# run.sh — one end-to-end scenario of walferry with a real PostgreSQL 15.
#
#   tests/e2e/pg/run.sh SCENARIO BACKEND [WALFERRY_BINARY]
#
# SCENARIO: one of the scenario_* functions of scenarios/*.sh (run.sh --list prints them);
# BACKEND: file (a repository in a temporary directory) or s3 (the real S3 server that
# scripts/test.sh starts, through its TLS front: WALFERRY_TEST_S3_* must be set; a missing
# server fails the test). The binary defaults to $WALFERRY_BINARY. ctest runs every
# scenario with the built binary (tests/CMakeLists.txt). Exit 0 only if every assertion
# held; nothing (postmaster, pgbench, psql) is left running on any exit.
# WALFERRY_E2E_KEEP=1 keeps the test directory; WALFERRY_E2E_LOG_DIR receives the server
# logs of a failed test.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/pg/lib.sh
. "$HERE/lib.sh"
for f in "$HERE"/scenarios/*.sh; do
  # shellcheck source=/dev/null
  . "$f"
done
if [ "${1:-}" = --list ]; then
  declare -F | sed -n 's/^declare -f scenario_\(.*\)/\1/p' | grep -v '^cleanup$'
  exit 0
fi
if [ $# -lt 2 ] || ! declare -F "scenario_$1" >/dev/null || [ "$1" = cleanup ]; then
  echo "usage: $0 SCENARIO file|s3 [WALFERRY_BINARY]; scenarios: $("$0" --list | tr '\n' ' ')" >&2
  exit 2
fi
trap 'log "FAIL - exit $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
e2e_setup "$1.$2" "$2" "${3:-${WALFERRY_BINARY:-}}"
"scenario_$1"
