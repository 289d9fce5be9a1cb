# shellcheck shell=bash
# lib.sh — harness for walferry's end-to-end tests with a real PostgreSQL 15.
# Sourced by run.sh, never run on its own. See README.md in this directory.
#
# Every cluster lives in $T/NAME: data directory $T/NAME/data, server log $T/NAME/log,
# unix socket in $T/NAME (no TCP: listen_addresses = ''), so that tests never compete
# for ports. Servers and clients run as the non-root user "postgres" when the test runs
# as root (CI), as the current user otherwise, with a clean environment: no WALFERRY_*
# or AWS_* variable reaches walferry, which reads only the configuration file the
# scenario writes ($T/walferry.conf).
#
# Each postmaster started here is stopped on exit (normal, failure, INT, TERM) by its
# own data directory and pid: pg_ctl stop -m fast, then -m immediate, then SIGKILL of
# the recorded pid. Background clients (pgbench, marker writers) are killed by pid.
# Every wait is bounded.

PGBIN=${WALFERRY_E2E_PGBIN:-/usr/lib/postgresql/15/bin}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$E2E_DIR/../../.." && pwd)
EXAMPLE_CONF=$SRC_ROOT/examples/postgresql.conf

T=""            # the test's directory
BIN=""          # walferry, copied into $T/bin so that postgres can run it from anywhere
CONF=""         # $T/walferry.conf
BACKEND=""      # file | s3
REPO_URL=""     # file:///... | s3://bucket/prefix
REPO_DIR=""     # file:// only: the repository's root directory
declare -A PORT=()
STARTED=()      # names of clusters this test started (stopped on exit)
BG_PIDS=()      # background clients
NEXT_PORT=5433
RUNAS=()
FAILED=0
TEST_NAME=""
T0=$SECONDS

# ---------------------------------------------------------------- output, assertions
log() { printf '%s [%3ds] %s\n' "$TEST_NAME" $((SECONDS - T0)) "$*"; }
ok() { log "ok - $*"; }
fail() {
  log "FAIL - $*"
  FAILED=1
  exit 1
}
expect_eq() { # DESC ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
expect_ne() { # DESC ACTUAL UNEXPECTED
  if [ "$2" != "$3" ]; then ok "$1"; else fail "$1: got '$2', expected anything else"; fi
}
expect_match() { # DESC TEXT ERE
  if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else fail "$1: /$3/ not found in: $2"; fi
}
expect_no_match() { # DESC TEXT ERE
  if ! grep -Eq -- "$3" <<<"$2"; then ok "$1"; else
    fail "$1: /$3/ unexpectedly found: $(grep -E -- "$3" <<<"$2" | head -n 5)"
  fi
}
expect_file() { if [ -e "$2" ]; then ok "$1"; else fail "$1: $2 does not exist"; fi; }
expect_no_file() { if [ ! -e "$2" ]; then ok "$1"; else fail "$1: $2 exists"; fi; }

# wait_until TIMEOUT DESC CMD... : run CMD every 0.1 s until it succeeds; fail after TIMEOUT s
wait_until() {
  local timeout=$1 desc=$2
  shift 2
  local deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
  until "$@"; do
    if [ "${EPOCHREALTIME/./}" -gt "$deadline" ]; then fail "timed out after ${timeout}s: $desc"; fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------- running as postgres
# as_pg CMD... : CMD as the postgres user (when root) with a clean environment, in $T
as_pg() {
  (cd "$T" && "${RUNAS[@]}" env -i PATH="$PGBIN:/usr/bin:/bin" HOME="$T" LC_ALL=C TZ=UTC "$@")
}
own() { [ ${#RUNAS[@]} -eq 0 ] || chown -R postgres:postgres "$@"; }

# ---------------------------------------------------------------- setup and cleanup
# e2e_setup TEST_NAME BACKEND WALFERRY_BINARY
e2e_setup() {
  TEST_NAME=$1 BACKEND=$2
  local bin=$3
  [ -x "$PGBIN/postgres" ] || fail "PostgreSQL 15 not found in $PGBIN (scripts/install-deps.sh installs postgresql-15)"
  [ -n "$bin" ] && [ -x "$bin" ] || fail "walferry binary '$bin' not executable (argument 3 or WALFERRY_BINARY)"
  [ -r "$EXAMPLE_CONF" ] || fail "$EXAMPLE_CONF missing"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || fail "user postgres missing (the postgresql-15 package creates it)"
    RUNAS=(runuser -u postgres --)
  fi
  # short path: the clusters' unix sockets live in it (limit ~100 characters)
  T=$(mktemp -d /tmp/wfpg.XXXXXX)
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  chmod 755 "$T"
  # a time budget below ctest's TIMEOUT, so that cleanup always runs (ctest's kill would
  # leave the postmasters running)
  local budget=${WALFERRY_E2E_BUDGET:-200}
  # shellcheck disable=SC2016
  bash -c 'sleep "$1" & s=$!; trap "kill \$s; exit 0" TERM; wait "$s" &&
           echo "run.sh: time budget of $1 s exceeded, stopping" >&2 && kill -TERM "$2"' \
    _ "$budget" "$$" &
  WATCHDOG=$!
  mkdir -p "$T/bin"
  cp "$bin" "$T/bin/walferry"
  BIN=$T/bin/walferry
  CONF=$T/walferry.conf
  own "$T"
  case $BACKEND in
    file | s3) ;;
    *) fail "backend must be file or s3, not '$BACKEND'" ;;
  esac
  write_walferry_conf "$CONF"
  log "test directory $T, repository $REPO_URL"
}

e2e_cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  set +e
  [ "$rc" -eq 0 ] || FAILED=1
  local p n
  [ -z "${WATCHDOG:-}" ] || kill -TERM "$WATCHDOG" 2>/dev/null
  for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for n in "${STARTED[@]}"; do stop_cluster_hard "$n"; done
  kill_own_walferry KILL >/dev/null
  if declare -F scenario_cleanup >/dev/null; then scenario_cleanup; fi
  if [ "$FAILED" -ne 0 ] && [ -n "$T" ]; then
    local f
    for f in "$T"/*/log; do
      [ -s "$f" ] || continue
      echo "---- last lines of $f ----"
      tail -n 40 "$f"
    done
    if [ -n "${WALFERRY_E2E_LOG_DIR:-}" ]; then
      local dest=$WALFERRY_E2E_LOG_DIR/$TEST_NAME
      rm -rf "$dest" && mkdir -p "$dest"
      for f in "$T"/*/log; do [ -e "$f" ] && cp "$f" "$dest/$(basename "$(dirname "$f")").log"; done
      echo "---- server logs kept in $dest ----"
    fi
  fi
  if [ -n "$T" ]; then
    if [ "${WALFERRY_E2E_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
  fi
  if [ "$rc" -eq 0 ]; then log "PASSED in $((SECONDS - T0)) s"; else log "FAILED (exit $rc) after $((SECONDS - T0)) s"; fi
  exit "$rc"
}

# ---------------------------------------------------------------- walferry
# own_walferry_pids : pids of the processes running this test's own copy of walferry
# ($T/bin/walferry, found by /proc/PID/exe, never by name): spool workers and
# archive-push calls of this test only
own_walferry_pids() {
  local p args
  [ -n "$BIN" ] || return 0
  # candidates from ps (cheap), each confirmed by its /proc/PID/exe
  while read -r p args; do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$BIN" ] && echo "$p"
  done < <(ps -eo pid=,args= | grep -F -- "$BIN" | grep -v grep)
  return 0
}
# kill_own_walferry SIGNAL : sends SIGNAL to each of them; prints how many
kill_own_walferry() {
  local n=0 p
  for p in $(own_walferry_pids); do kill "-$1" "$p" 2>/dev/null && n=$((n + 1)); done
  echo "$n"
}

# write_walferry_conf FILE [EXTRA LINE...] : the scenario's repository (file:// or s3://)
write_walferry_conf() {
  local file=$1
  shift
  if [ "$BACKEND" = file ]; then
    REPO_DIR=$T/repo
    mkdir -p "$REPO_DIR"
    own "$REPO_DIR"
    REPO_URL=file://$REPO_DIR
    printf 'repo = %s\n' "$REPO_URL" >"$file"
  else
    local v
    for v in WALFERRY_TEST_S3_TLS_ENDPOINT WALFERRY_TEST_S3_CA_FILE WALFERRY_TEST_S3_BUCKET \
      WALFERRY_TEST_S3_ACCESS_KEY WALFERRY_TEST_S3_SECRET_KEY; do
      [ -n "${!v:-}" ] || fail "$v unset: run through scripts/test.sh, which starts the real S3 server"
    done
    # the server's directory may not be readable by postgres: a copy of the CA
    cp "$WALFERRY_TEST_S3_CA_FILE" "$T/ca.pem"
    own "$T/ca.pem"
    [ -n "${RUN_ID:-}" ] || RUN_ID=$(date -u +%Y%m%dT%H%M%S)-$$-$RANDOM
    REPO_URL=s3://$WALFERRY_TEST_S3_BUCKET/e2e-pg/$TEST_NAME-$RUN_ID
    {
      printf 'repo = %s\n' "$REPO_URL"
      printf 's3-endpoint = %s\n' "$WALFERRY_TEST_S3_TLS_ENDPOINT"
      printf 's3-ca-file = %s\n' "$T/ca.pem"
      printf 's3-uri-style = path\n'
      printf 's3-region = us-east-1\n'
      printf 's3-access-key-id = %s\n' "$WALFERRY_TEST_S3_ACCESS_KEY"
      printf 's3-secret-access-key = %s\n' "$WALFERRY_TEST_S3_SECRET_KEY"
    } >"$file"
  fi
  local line
  for line in "$@"; do printf '%s\n' "$line" >>"$file"; done
  chmod 600 "$file"
  own "$file"
}

# wf [--cwd DIR] ARGS... : run walferry as PostgreSQL does (user postgres, clean environment,
# the scenario's config). Sets WF_RC, WF_OUT, WF_ERR; never fails by itself.
wf() {
  local cwd=$T
  if [ "$1" = --cwd ]; then cwd=$2; shift 2; fi
  local out=$T/wf.out err=$T/wf.err
  WF_RC=0
  (cd "$cwd" && "${RUNAS[@]}" env -i PATH=/usr/bin:/bin HOME="$T" LC_ALL=C TZ=UTC \
    "$BIN" --config "$CONF" "$@") >"$out" 2>"$err" </dev/null || WF_RC=$?
  # shellcheck disable=SC2034 # for the scenarios
  WF_OUT=$(cat "$out") WF_ERR=$(cat "$err")
  rm -f "$out" "$err"
}
# wf_expect DESC EXPECTED_RC ARGS... : wf, and fail unless it exits EXPECTED_RC
wf_expect() {
  local desc=$1 want=$2
  shift 2
  wf "$@"
  if [ "$WF_RC" -ne "$want" ]; then
    fail "$desc: walferry $* exited $WF_RC, expected $want; stderr: $WF_ERR"
  fi
  [ "$1" != --cwd ] || shift 2
  ok "$desc (walferry $* -> exit $WF_RC)"
}

# fetch NAME DEST : walferry archive-get NAME into DEST (absolute), must succeed
fetch() {
  local dir
  dir=$(dirname "$2")
  mkdir -p "$dir" && own "$dir"
  wf --cwd "$dir" archive-get "$1" "$(basename "$2")"
  [ "$WF_RC" -eq 0 ] || fail "archive-get $1 exited $WF_RC: $WF_ERR"
}

# ---------------------------------------------------------------- clusters
datadir() { echo "$T/$1/data"; }

# the settings of examples/postgresql.conf, with this test's binary and config: the
# example's only command is 'walferry --config /etc/walferry.conf'
example_settings() {
  local settings
  settings=$(grep -Ev '^[[:space:]]*(#|$)' "$EXAMPLE_CONF")
  local n
  for n in archive_mode archive_command restore_command; do
    grep -Eq "^${n}[[:space:]]*=" <<<"$settings" || fail "$EXAMPLE_CONF has no $n line"
  done
  grep -q "'walferry --config /etc/walferry.conf archive-push %p'" <<<"$settings" ||
    fail "$EXAMPLE_CONF: archive_command is not 'walferry --config /etc/walferry.conf archive-push %p'"
  grep -q "'walferry --config /etc/walferry.conf archive-get %f %p'" <<<"$settings" ||
    fail "$EXAMPLE_CONF: restore_command is not 'walferry --config /etc/walferry.conf archive-get %f %p'"
  sed -e "s|'walferry --config /etc/walferry.conf |'$BIN --config $CONF |" <<<"$settings"
}

# cluster_settings NAME : what every cluster of the harness gets (appended last, so it wins
# over what a base backup copied from its source)
cluster_settings() {
  local name=$1
  cat <<EOF

# ---- e2e harness: cluster $name ----
listen_addresses = ''
unix_socket_directories = '$T/$name'
port = ${PORT[$name]}
max_connections = 20
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
max_wal_size = 512MB
checkpoint_timeout = 30min
wal_retrieve_retry_interval = 200ms
hot_standby = on
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %b '
log_min_messages = info
${CLUSTER_EXTRA_SETTINGS:-}
EOF
}

new_port() { # NAME
  PORT[$1]=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}

# append_conf NAME TEXT : append to the cluster's postgresql.conf
append_conf() { printf '%s\n' "$2" >>"$(datadir "$1")/postgresql.conf"; }

# init_cluster NAME [no-repo] : initdb, harness settings, then examples/postgresql.conf's
# archiving, then `walferry repo-create` in the new data directory (as an administrator does
# once before archiving starts: archive-push never creates a repository), unless no-repo
init_cluster() {
  local name=$1 repo=${2:-}
  mkdir -p "$T/$name"
  own "$T/$name"
  new_port "$name"
  # shellcheck disable=SC2086 # E2E_INITDB_ARGS: extra words, e.g. --data-checksums
  as_pg initdb -D "$(datadir "$name")" -A trust -U postgres --locale=C -E UTF8 --no-sync ${E2E_INITDB_ARGS:-} >"$T/$name/initdb.log" 2>&1 ||
    fail "initdb $name: $(tail -n 5 "$T/$name/initdb.log")"
  append_conf "$name" "$(cluster_settings "$name")"
  append_conf "$name" "# ---- examples/postgresql.conf, as installed for this test ----"
  append_conf "$name" "$(example_settings)"
  [ "$repo" = no-repo ] || wf_expect "repository created for $name" 0 --cwd "$(datadir "$name")" repo-create
}

# cluster_from_backup BACKUP NAME : a copy of the base backup in $T/BACKUP as cluster NAME
cluster_from_backup() {
  local backup=$1 name=$2
  mkdir -p "$T/$name"
  cp -a "$T/$backup" "$T/$name/data"
  own "$T/$name"
  new_port "$name"
  append_conf "$name" "$(cluster_settings "$name")"
}

declare -A LOG_MARK=()
start_cluster() { # NAME [no-wait]
  local name=$1
  STARTED+=("$name")
  LOG_MARK[$name]=0
  [ ! -e "$T/$name/log" ] || LOG_MARK[$name]=$(wc -l <"$T/$name/log")
  if [ "${2:-}" = no-wait ]; then
    as_pg pg_ctl -D "$(datadir "$name")" -l "$T/$name/log" -W start >/dev/null ||
      fail "pg_ctl start $name failed"
  else
    as_pg pg_ctl -D "$(datadir "$name")" -l "$T/$name/log" -w -t 120 start >/dev/null ||
      fail "pg_ctl start $name failed: $(tail -n 20 "$T/$name/log")"
  fi
}

stop_cluster() { # NAME [MODE] : shutdown (fast by default), must succeed
  as_pg pg_ctl -D "$(datadir "$1")" -m "${2:-fast}" -w -t 60 stop >/dev/null || fail "pg_ctl stop $1 failed"
}

# postmaster_pid NAME : prints the pid when postmaster.pid names a live postmaster
postmaster_pid() {
  local f pid
  f=$(datadir "$1")/postmaster.pid
  [ -r "$f" ] || return 1
  pid=$(head -n 1 "$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q postgres "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}
is_running() { postmaster_pid "$1" >/dev/null; }
is_stopped() { ! postmaster_pid "$1" >/dev/null; }

stop_cluster_hard() { # NAME : for cleanup; never fails
  local name=$1 pid
  pid=$(postmaster_pid "$name") || return 0
  as_pg pg_ctl -D "$(datadir "$name")" -m fast -w -t 15 stop >/dev/null 2>&1 ||
    as_pg pg_ctl -D "$(datadir "$name")" -m immediate -w -t 15 stop >/dev/null 2>&1
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  return 0
}

# sql NAME QUERY : one value per line, fields separated by |
sql() {
  as_pg psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$T/$1" -p "${PORT[$1]}" -d postgres -c "$2" 2>"$T/sql.err" ||
    fail "SQL on $1 failed: $2: $(cat "$T/sql.err")"
}
sql_ok() { as_pg psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$T/$1" -p "${PORT[$1]}" -d postgres -c "$2" >/dev/null 2>&1; }

in_recovery() { [ "$(sql "$1" 'SELECT pg_is_in_recovery()')" = t ]; }
not_in_recovery() { [ "$(sql "$1" 'SELECT pg_is_in_recovery()')" = f ]; }
timeline_of() { as_pg pg_controldata "$(datadir "$1")" | sed -n "s/^Latest checkpoint's TimeLineID: *//p"; }
cluster_state() { as_pg pg_controldata "$(datadir "$1")" | sed -n 's/^Database cluster state: *//p'; }

# ---------------------------------------------------------------- data and load
# the marker table: one row per ~0.2 s, stamped with clock_timestamp() at insert
setup_schema() { # NAME
  as_pg pgbench -i -s "${PGBENCH_SCALE:-2}" -q -h "$T/$1" -p "${PORT[$1]}" postgres >"$T/$1/pgbench-init.log" 2>&1 ||
    fail "pgbench -i failed: $(tail -n 5 "$T/$1/pgbench-init.log")"
  sql "$1" "CREATE TABLE marker (id bigserial PRIMARY KEY, tag text NOT NULL,
                                 ts timestamptz NOT NULL DEFAULT clock_timestamp())"
  sql "$1" "CREATE PROCEDURE mark(p_tag text, p_seconds float8) LANGUAGE plpgsql AS \$\$
            DECLARE stop timestamptz := clock_timestamp() + make_interval(secs => p_seconds);
            BEGIN
              LOOP
                INSERT INTO marker (tag) VALUES (p_tag);
                COMMIT;
                EXIT WHEN clock_timestamp() >= stop;
                PERFORM pg_sleep(0.2);
              END LOOP;
            END \$\$"
}

# load NAME SECONDS TAG : pgbench (2 clients) and the marker writer for SECONDS, both
# finished when load returns (so nothing is in flight afterwards)
load() {
  local name=$1 secs=$2 tag=$3 pb mk rc=0
  as_pg pgbench -n -c 2 -j 2 -T "$secs" -h "$T/$name" -p "${PORT[$name]}" postgres >"$T/$name/pgbench-$tag.log" 2>&1 &
  pb=$!
  BG_PIDS+=("$pb")
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$T/$name" -p "${PORT[$name]}" -d postgres \
    -c "CALL mark('$tag', $secs)" >"$T/$name/mark-$tag.log" 2>&1 &
  mk=$!
  BG_PIDS+=("$mk")
  wait "$pb" || rc=$?
  [ "$rc" -eq 0 ] || fail "pgbench on $name exited $rc: $(tail -n 5 "$T/$name/pgbench-$tag.log")"
  wait "$mk" || rc=$?
  [ "$rc" -eq 0 ] || fail "marker writer on $name exited $rc: $(cat "$T/$name/mark-$tag.log")"
  local tps
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$T/$name/pgbench-$tag.log" | head -n 1)
  log "load '$tag' on $name: ${secs}s, pgbench ${tps:-?} tps, $(sql "$name" "SELECT count(*) FROM marker WHERE tag = '$tag'") markers"
}

# checksum NAME : md5 over the four pgbench tables, each ordered by its rows' text
checksum() {
  sql "$1" "SELECT string_agg(t || ':' || n || ':' || h, ' ' ORDER BY t) FROM (
      SELECT 'accounts' t, count(*) n, md5(string_agg(a::text, ',' ORDER BY a::text)) h FROM pgbench_accounts a
      UNION ALL SELECT 'branches', count(*), md5(string_agg(b::text, ',' ORDER BY b::text)) FROM pgbench_branches b
      UNION ALL SELECT 'tellers', count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM pgbench_tellers t
      UNION ALL SELECT 'history', count(*), md5(string_agg(h::text, ',' ORDER BY h::text)) FROM pgbench_history h) s"
}

# markers NAME [WHERE] : count, last id and md5 of the marker rows (optionally filtered)
markers() {
  sql "$1" "SELECT count(*) || ' rows, max id ' || coalesce(max(id), 0) || ', md5 ' ||
                   coalesce(md5(string_agg(id || '/' || tag || '/' || ts, ',' ORDER BY id)), '-')
            FROM marker ${2:+WHERE $2}"
}

# ---------------------------------------------------------------- WAL and archiving
# switch_wal NAME : pg_switch_wal() after a small WAL record (so that a segment is always
# completed, even on an idle server); prints the name of the segment it completed
switch_wal() {
  sql "$1" "SELECT pg_logical_emit_message(false, 'walferry-e2e', 'switch')" >/dev/null
  sql "$1" 'SELECT pg_walfile_name(pg_switch_wal())'
}
current_lsn() { sql "$1" 'SELECT pg_current_wal_lsn()'; }

# archived NAME FILE : PostgreSQL's archiver of cluster NAME has archived FILE
archived() {
  local st
  st=$(datadir "$1")/pg_wal/archive_status
  [ -e "$st/$2.done" ] && return 0
  # already removed by a checkpoint: the archiver works in order and has passed it
  [ ! -e "$st/$2.ready" ] && [ ! -e "$(datadir "$1")/pg_wal/$2" ] &&
    [ "$(sql "$1" "SELECT coalesce(last_archived_wal >= '$2', false) FROM pg_stat_archiver")" = t ]
}
wait_archived() { # NAME FILE [TIMEOUT]
  wait_until "${3:-60}" "$1: archiving of $2 (pg_stat_archiver: $(sql "$1" 'SELECT archived_count, last_archived_wal, failed_count, last_failed_wal FROM pg_stat_archiver'))" archived "$1" "$2"
}
archiver_failures() { sql "$1" 'SELECT failed_count FROM pg_stat_archiver'; }

# basebackup SOURCE BACKUP : pg_basebackup without WAL (-X none) into $T/BACKUP: the copy
# cannot start without fetching WAL through restore_command
basebackup() {
  local src=$1 dest=$T/$2
  mkdir -p "$T/backups"
  own "$T/backups"
  as_pg pg_basebackup -D "$dest" -X none -c fast --no-sync -h "$T/$src" -p "${PORT[$src]}" \
    >"$T/$src/basebackup.log" 2>&1 || fail "pg_basebackup failed: $(cat "$T/$src/basebackup.log")"
  local f
  for f in "$dest"/pg_wal/*; do
    [ "${f##*/}" = archive_status ] || fail "base backup holds WAL: $(ls "$dest/pg_wal")"
  done
  log "base backup of $src in $dest ($(sed -n 's/^START WAL LOCATION: //p' "$dest/backup_label"))"
}

# replay_reached NAME LSN : the standby NAME has replayed up to LSN
replay_reached() {
  [ "$(sql "$1" "SELECT coalesce(pg_last_wal_replay_lsn() >= '$2'::pg_lsn, false)")" = t ]
}

# log_of NAME : the server log; last_log NAME : its lines since the last start_cluster
log_of() { cat "$T/$1/log"; }
last_log() { tail -n "+$((${LOG_MARK[$1]:-0} + 1))" "$T/$1/log"; }

# postmaster_exited NAME : the postmaster started last by start_cluster has exited
postmaster_exited() {
  is_stopped "$1" && last_log "$1" | grep -Eq 'database system is shut down|(shutting down|aborting startup) due to startup process failure'
}
