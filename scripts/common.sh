# shellcheck shell=bash
# common.sh — what test.sh and demo.sh share (sourced, never run on its own): building
# into build/, a test S3 server in a fresh temporary directory, and cleaning up after
# both on any exit.
#
# After sourcing, the caller has ROOT (repository root, also the working directory),
# S3_SCRIPTS (scripts/s3-server), the pid/port helpers of scripts/s3-server/lib.sh, and:
#   run CMD...             a long step (cmake, ctest) in its own process group, waited on so
#                          that INT/TERM are handled at once; the group is stopped on exit
#   build [TARGET...]      configure build/ (RelWithDebInfo) and build the TARGETs (all by default)
#   s3_up PORT TLSPORT     make $TMP (unless set), start the server (PORT..PORT+9, up to three
#                          attempts) and its TLS front there; sets S3_DIR, S3_CA_FILE, S3_ENDPOINT
#   s3_show_logs DEST      copy the server's logs to DEST and print their last lines
# On exit (normal, error, INT or TERM) the traps stop whatever the script started, by pid:
# the running step's process group, then the caller's function on_stop RC if it defines one
# (clusters, workers: whatever must end while the server still answers), the TLS front and
# the server (scripts/s3-server/stop.sh), then call the caller's function on_exit RC if it
# defines one, remove $TMP (kept when KEEP_TMP=1) and exit RC.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S3_SCRIPTS=$ROOT/scripts/s3-server
# shellcheck source=scripts/s3-server/lib.sh
. "$S3_SCRIPTS/lib.sh"
cd "$ROOT" || exit 1
TMP="" S3_DIR="" S3_CA_FILE="" S3_ENDPOINT="" CHILD=""

run() {
  # setsid(1) execs in place (the child is not a group leader): $! names the new group.
  setsid "$@" </dev/null &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

# shellcheck disable=SC2120 # TARGETs are optional
build() {
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  run cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALFERRY_BUILD_TESTS=ON &&
    run cmake --build "$ROOT/build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" "${targets[@]}"
}

# shellcheck disable=SC2034 # S3_CA_FILE and S3_ENDPOINT are for the caller
s3_up() {
  local port=$1 tls_port=$2 attempt
  [ -n "$TMP" ] || TMP=$(mktemp -d "${TMPDIR:-/tmp}/walferry-s3.XXXXXX")
  S3_DIR=$TMP/s3
  # Up to three attempts: radosgw sometimes cannot bind PORT although start.sh found it
  # free (PORT may be in Linux's ephemeral range, and an outgoing connection made while the
  # server starts can take it). start.sh is idempotent; stop.sh ends what a failed try left.
  for attempt in 1 2 3; do
    "$S3_SCRIPTS/start.sh" "$S3_DIR" "$port" >/dev/null 2>"$TMP/s3-start.err" && break
    "$S3_SCRIPTS/stop.sh" "$S3_DIR"
    if [ "$attempt" -eq 3 ]; then
      cat "$TMP/s3-start.err" >&2
      return 1
    fi
    rm -f "$S3_DIR/log/rgw.out"
  done
  S3_ENDPOINT=$("$S3_SCRIPTS/tls.sh" "$S3_DIR" "$tls_port" "$port") &&
    S3_CA_FILE=$S3_DIR/tls/cert.pem
}

s3_show_logs() {
  local dest=$1 f
  [ -d "$S3_DIR/log" ] || return 0
  rm -rf "$dest" && mkdir -p "$dest" && cp -r "$S3_DIR/log/." "$dest/"
  echo "---- S3 server logs (kept in $dest) ----"
  for f in client.rgw.a.log osd.0.log mon.a.log stunnel.log; do
    [ -s "$S3_DIR/log/$f" ] || continue
    echo "---- last lines of $f ----"
    tail -n 12 "$S3_DIR/log/$f"
  done
  echo "---- end of S3 server logs ----"
}

_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$CHILD" ]; then
    kill -TERM -- "-$CHILD" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CHILD" 2>/dev/null
    wait "$CHILD" 2>/dev/null
  fi
  if declare -F on_stop >/dev/null; then on_stop "$rc"; fi
  [ -n "$S3_DIR" ] && "$S3_SCRIPTS/stop.sh" "$S3_DIR"
  if declare -F on_exit >/dev/null; then on_exit "$rc"; fi
  [ -n "$TMP" ] && [ "${KEEP_TMP:-0}" != 1 ] && rm -rf "$TMP"
  exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
