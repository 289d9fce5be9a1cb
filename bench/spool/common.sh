# shellcheck shell=bash
# common.sh — shared by bench/spool/get.sh and bench/spool/recovery.sh (sourced, never run).
#
# 1. walferry: WALFERRY_BENCH_WALFERRY, or built (cmake, RelWithDebInfo, target walferry)
#    into build-bench-spool/,
# 2. the project's test S3 server in a new temporary directory: http on 127.0.0.1:S3_PORT
#    (also S3_PORT+1..+9), TLS on 127.0.0.1:TLS_PORT; stopped by pid (stop.sh) on any exit,
# 3. the corpus: a throwaway PostgreSQL 15 cluster (port PG_PORT, unix socket only, as the
#    postgres user when we are root), archive_command = cp into corpus/; pgbench -i -s SCALE,
#    a base backup (pg_basebackup -X none, in base/), then 5-second pgbench runs, each after
#    a CHECKPOINT (full-page images, as in production), until SEGMENTS segments were written
#    after the backup; TARGET = clock_timestamp() after the last run, SUM_TARGET = the
#    pgbench tables' checksum then; one more commit; pg_switch_wal, everything archived, the cluster stopped,
# 4. walferry's repository (repo-create, then archive-push of every corpus segment, zstd 3).
# Environment (all optional): WALFERRY_BENCH_SEGMENTS (default 64; 8..900),
# WALFERRY_BENCH_PGBENCH_SCALE (20), WALFERRY_BENCH_PG_PORT (55632), WALFERRY_BENCH_S3_PORT
# (18600), WALFERRY_BENCH_TLS_PORT (19043), WALFERRY_BENCH_WALFERRY, WALFERRY_BENCH_OUT
# (results directory), WALFERRY_BENCH_KEEP=1 (keep the temporary directory).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$ROOT/build-bench-spool
SEGMENTS=${WALFERRY_BENCH_SEGMENTS:-64}
SCALE=${WALFERRY_BENCH_PGBENCH_SCALE:-20}
PG_PORT=${WALFERRY_BENCH_PG_PORT:-55632}
S3_PORT=${WALFERRY_BENCH_S3_PORT:-18600}
TLS_PORT=${WALFERRY_BENCH_TLS_PORT:-19043}
PGBIN=/usr/lib/postgresql/15/bin
BUCKET=walferry-test ACCESS=walferry SECRET=walferry-secret
S3_SCRIPTS=$ROOT/scripts/s3-server
STARTED=$SECONDS
say() { echo "${BENCH_NAME:-bench} [$((SECONDS - STARTED)) s]: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $SEGMENTS =~ ^[0-9]+$ ]] && [ "$SEGMENTS" -ge 8 ] && [ "$SEGMENTS" -le 900 ] ||
  die "WALFERRY_BENCH_SEGMENTS must be a number in 8..900, not '$SEGMENTS'"
[ -x "$PGBIN/postgres" ] || die "no PostgreSQL 15 in $PGBIN"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package 'time')"
AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"
  AS=(runuser -u postgres --)
fi

TMP="" S3_DIR="" CLUSTERS=()
# pg DATADIR... : as postgres, clean environment
pg() { "${AS[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PGHOST="$TMP/sock" PGUSER=postgres "$@"; }
bench_cleanup() {
  local rc=$? d
  trap - EXIT INT TERM
  set +e
  for d in "${CLUSTERS[@]}"; do
    [ -f "$d/postmaster.pid" ] && pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
  done
  # the tools' detached workers (walferry's prefetch worker, pgBackRest's async process)
  # leave by themselves once idle; wait for them before the server goes away
  for d in "$TMP"/wf-spool*/*/get; do
    [ -d "$d" ] || continue
    for _ in $(seq 150); do flock -n "$d/worker.lock" true 2>/dev/null && break; sleep 0.1; done
  done
  [ -z "$S3_DIR" ] || "$S3_SCRIPTS/stop.sh" "$S3_DIR"
  if [ -n "$TMP" ]; then
    if [ "${WALFERRY_BENCH_KEEP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  if [ "$rc" -eq 0 ]; then say "done in $((SECONDS - STARTED)) s"; else say "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TMP=$(mktemp -d /tmp/walferry-spool-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP"/{sock,corpus,tools,home,work,pgbr/lock,pgbr/log,pgbr/spool}

# ---- 1. walferry
if [ -n "${WALFERRY_BENCH_WALFERRY:-}" ]; then
  WF_SRC=$WALFERRY_BENCH_WALFERRY
else
  say "building walferry in $BUILD"
  { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALFERRY_BUILD_TESTS=OFF \
      -DWALFERRY_BUILD_BENCH=OFF -DWALFERRY_SANITIZE= &&
    cmake --build "$BUILD" --parallel 2 --target walferry; } >"$TMP/cmake.log" 2>&1 ||
    { tail -n 30 "$TMP/cmake.log" >&2; die "build failed"; }
  WF_SRC=$BUILD/walferry
fi
[ -x "$WF_SRC" ] || die "no walferry binary at $WF_SRC"
cp "$WF_SRC" "$TMP/tools/walferry"
WF=$TMP/tools/walferry

# ---- 2. the S3 server
S3_DIR=$TMP/s3
say "starting the test S3 server: http 127.0.0.1:$S3_PORT, TLS 127.0.0.1:$TLS_PORT"
for attempt in 1 2 3; do
  "$S3_SCRIPTS/start.sh" "$S3_DIR" "$S3_PORT" >/dev/null 2>"$TMP/s3-start.err" && break
  "$S3_SCRIPTS/stop.sh" "$S3_DIR"
  [ "$attempt" -lt 3 ] || { cat "$TMP/s3-start.err" >&2; die "the S3 server did not start"; }
done
ENDPOINT=$("$S3_SCRIPTS/tls.sh" "$S3_DIR" "$TLS_PORT" "$S3_PORT") || die "the TLS front did not start"
CA=$S3_DIR/tls/cert.pem
PREFIX="spool-bench/$(date -u +%Y%m%dT%H%M%SZ)-$$"

# walferry_conf FILE [EXTRA LINE...] : the repository s3://BUCKET/PREFIX/walferry, zstd 3
walferry_conf() {
  local file=$1 line
  shift
  cat >"$file" <<EOF
repo = s3://$BUCKET/$PREFIX/walferry
s3-endpoint = $ENDPOINT
s3-region = us-east-1
s3-uri-style = path
s3-ca-file = $CA
s3-access-key-id = $ACCESS
s3-secret-access-key = $SECRET
compression = zstd
compression-level = 3
log-level = ${WF_LOG_LEVEL:-warn}
EOF
  for line in "$@"; do echo "$line" >>"$file"; done
}
walferry_conf "$TMP/tools/walferry.conf"

# ---- 3. the corpus
PGDATA=$TMP/pg
CLUSTERS+=("$PGDATA")
say "corpus: PostgreSQL 15 on port $PG_PORT, pgbench -i -s $SCALE, base backup, pgbench until $SEGMENTS more segments"
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
pg "$PGBIN/initdb" -D "$PGDATA" --no-sync -A trust -U postgres --no-instructions >"$TMP/initdb.log" 2>&1 ||
  { tail -n 20 "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$PGDATA/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = ''
unix_socket_directories = '$TMP/sock'
archive_mode = on
archive_command = 'test ! -f $TMP/corpus/%f && cp %p $TMP/corpus/%f'
checkpoint_timeout = 30min
max_wal_size = 4GB
EOF
pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$TMP/pg.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start"
psql_1() { pg "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$1"; }
CHECKSUM_SQL="SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
  SELECT 'a' || md5(string_agg(a::text, ',' ORDER BY aid)) t FROM pgbench_accounts a
  UNION ALL SELECT 'b' || md5(string_agg(b::text, ',' ORDER BY bid)) FROM pgbench_branches b
  UNION ALL SELECT 't' || md5(string_agg(t::text, ',' ORDER BY tid)) FROM pgbench_tellers t
  UNION ALL SELECT 'h' || count(*) || md5(string_agg(h::text, ',' ORDER BY h::text)) FROM pgbench_history h) s"
"$WF_SRC" --config "$TMP/tools/walferry.conf" repo-create --pg-data "$PGDATA" >"$TMP/repo-create.log" 2>&1 ||
  { cat "$TMP/repo-create.log" >&2; die "walferry repo-create failed"; }
if declare -F bench_while_running >/dev/null; then bench_while_running; fi
pg "$PGBIN/pgbench" -p "$PG_PORT" -i -q -s "$SCALE" postgres >"$TMP/pgbench.log" 2>&1 || die "pgbench -i failed"
pg "$PGBIN/pg_basebackup" -p "$PG_PORT" -D "$TMP/base" -X none -c fast --no-sync >"$TMP/basebackup.log" 2>&1 ||
  { cat "$TMP/basebackup.log" >&2; die "pg_basebackup failed"; }
segno() { echo $((16#${1:8:8} * 256 + 16#${1:16:8})); }
current_seg() { segno "$(psql_1 'select pg_walfile_name(pg_current_wal_lsn())')"; }
FIRST_SEG=$(current_seg)
for ((i = 0; i < 200; i++)); do
  [ "$(current_seg)" -ge $((FIRST_SEG + SEGMENTS)) ] && break
  psql_1 checkpoint
  pg "$PGBIN/pgbench" -p "$PG_PORT" -n -c 4 -j 2 -T 5 postgres >>"$TMP/pgbench.log" 2>&1 || die "pgbench failed"
done
sleep 0.2
TARGET=$(psql_1 'select clock_timestamp()')
SUM_TARGET=$(psql_1 "$CHECKSUM_SQL")
sleep 0.2
psql_1 'create table after_target (x int)'  # a commit after the target: recovery stops before it
psql_1 'select pg_switch_wal()' >/dev/null
for ((i = 0; i < 240; i++)); do
  compgen -G "$PGDATA/pg_wal/archive_status/*.ready" >/dev/null || break
  sleep 0.5
done
pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null || die "PostgreSQL did not stop"
(cd "$TMP/corpus" && printf '%s\n' *) | grep -E '^[0-9A-F]{24}$' | sort >"$TMP/names.txt"
NSEG=$(wc -l <"$TMP/names.txt")
say "corpus: $NSEG segments ($(head -n1 "$TMP/names.txt")..$(tail -n1 "$TMP/names.txt")), target $TARGET"

# ---- 4. walferry's repository: every corpus segment pushed (two at a time)
mkdir -p "$TMP/push/pg_wal" "$TMP/push/global"
cp "$PGDATA/PG_VERSION" "$TMP/push/"
cp "$PGDATA/global/pg_control" "$TMP/push/global/"
while read -r n; do ln "$TMP/corpus/$n" "$TMP/push/pg_wal/$n"; done <"$TMP/names.txt"
(cd "$TMP/push" && xargs -P 2 -I{} "$WF" --config "$TMP/tools/walferry.conf" archive-push pg_wal/{} <"$TMP/names.txt") ||
  die "walferry archive-push of the corpus failed"
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"

# total_seconds TOOL : the sum of SECS[TOOL-rR] over the ROUNDS rounds
total_seconds() {
  local r sum=0
  for ((r = 1; r <= ROUNDS; r++)); do sum=$(echo "$sum + ${SECS[$1-r$r]}" | bc -l); done
  echo "$sum"
}

# the environment every timed call gets
RUN=("${AS[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$TMP/home" TMPDIR="$TMP/home")
MACHINE="$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, $(uname -r)"
