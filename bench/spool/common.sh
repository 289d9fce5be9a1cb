# shellcheck shell=bash
# common.sh — what bench/spool/get.sh and bench/spool/recovery.sh share (sourced, never run),
# on top of bench/lib.sh:
# 1. walferry: WALFERRY_BENCH_WALFERRY, or built into build-bench-spool/,
# 2. the project's test S3 server in a new temporary directory: http on 127.0.0.1:S3_PORT
#    (also S3_PORT+1..+9), TLS on 127.0.0.1:TLS_PORT; stopped by pid on any exit,
# 3. the corpus: a throwaway PostgreSQL 15 cluster (port PG_PORT, unix socket only, as the
#    postgres user when we are root), archive_command = cp into corpus/; pgbench -i -s SCALE,
#    a base backup (pg_basebackup -X none, in base/), then 5-second pgbench runs, each after
#    a CHECKPOINT (full-page images, as in production), until SEGMENTS segments were written
#    after the backup; TARGET = clock_timestamp() after the last run, SUM_TARGET = the
#    pgbench tables' checksum then; one more commit; pg_switch_wal, everything archived,
#    the cluster stopped. The caller's bench_while_running, if defined, runs while it is up,
# 4. walferry's repository (repo-create, then archive-push of every corpus segment, zstd 3).
# Environment (all optional): WALFERRY_BENCH_SEGMENTS (default 64; 8..900),
# WALFERRY_BENCH_PGBENCH_SCALE (20), WALFERRY_BENCH_PG_PORT (55632), WALFERRY_BENCH_S3_PORT
# (18600), WALFERRY_BENCH_TLS_PORT (19043), WALFERRY_BENCH_WALFERRY, WALFERRY_BENCH_OUT
# (results directory), WALFERRY_BENCH_KEEP=1 (keep the temporary directory).
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BUILD=$ROOT/build-bench-spool
SEGMENTS=${WALFERRY_BENCH_SEGMENTS:-64}
SCALE=${WALFERRY_BENCH_PGBENCH_SCALE:-20}
PG_PORT=${WALFERRY_BENCH_PG_PORT:-55632}
S3_PORT=${WALFERRY_BENCH_S3_PORT:-18600}
TLS_PORT=${WALFERRY_BENCH_TLS_PORT:-19043}
bench_number SEGMENTS 8 900
bench_port PG_PORT S3_PORT TLS_PORT
bench_tmp
mkdir -p "$TMP/push/pg_wal" "$TMP/push/global"

bench_walferry "$BUILD"
bench_s3 "$S3_PORT" "$TLS_PORT"
walferry_conf "$TMP/tools/walferry.conf" walferry

# ---- the corpus
PGDATA=$TMP/pg/data
say "corpus: PostgreSQL 15 on port $PG_PORT, pgbench -i -s $SCALE, base backup, pgbench until $SEGMENTS more segments"
bench_cluster "$PGDATA"
CHECKSUM_SQL="SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
  SELECT 'a' || md5(string_agg(a::text, ',' ORDER BY aid)) t FROM pgbench_accounts a
  UNION ALL SELECT 'b' || md5(string_agg(b::text, ',' ORDER BY bid)) FROM pgbench_branches b
  UNION ALL SELECT 't' || md5(string_agg(t::text, ',' ORDER BY tid)) FROM pgbench_tellers t
  UNION ALL SELECT 'h' || count(*) || md5(string_agg(h::text, ',' ORDER BY h::text)) FROM pgbench_history h) s"
RUN "$WF" --config "$TMP/tools/walferry.conf" repo-create --pg-data "$PGDATA" >"$TMP/repo-create.log" 2>&1 ||
  { cat "$TMP/repo-create.log" >&2; die "walferry repo-create failed"; }
if declare -F bench_while_running >/dev/null; then bench_while_running; fi
bench_pgbench_init
pg "$PGBIN/pg_basebackup" -D "$TMP/base" -X none -c fast --no-sync >"$TMP/basebackup.log" 2>&1 ||
  { cat "$TMP/basebackup.log" >&2; die "pg_basebackup failed"; }
BENCH_FROM_SEG=$(current_seg)
bench_wal_until "$SEGMENTS"
sleep 0.2
TARGET=$(psql_1 'select clock_timestamp()')
SUM_TARGET=$(psql_1 "$CHECKSUM_SQL")
sleep 0.2
psql_1 'create table after_target (x int)' # a commit after the target: recovery stops before it
bench_wal_archived
bench_stop_cluster "$PGDATA"
(cd "$TMP/corpus" && printf '%s\n' *) | grep -E '^[0-9A-F]{24}$' | sort >"$TMP/names.txt"
NSEG=$(wc -l <"$TMP/names.txt")
say "corpus: $NSEG segments ($(head -n1 "$TMP/names.txt")..$(tail -n1 "$TMP/names.txt")), target $TARGET"

# ---- walferry's repository: every corpus segment pushed (two at a time)
cp "$PGDATA/PG_VERSION" "$TMP/push/"
cp "$PGDATA/global/pg_control" "$TMP/push/global/"
while read -r n; do ln "$TMP/corpus/$n" "$TMP/push/pg_wal/$n"; done <"$TMP/names.txt"
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
(cd "$TMP/push" && xargs -P 2 -I{} "${AS[@]}" "$WF" --config "$TMP/tools/walferry.conf" archive-push pg_wal/{} <"$TMP/names.txt") ||
  die "walferry archive-push of the corpus failed"

# total_seconds TOOL : the sum of SECS[TOOL-rR] over the ROUNDS rounds
total_seconds() {
  local r sum=0
  for ((r = 1; r <= ROUNDS; r++)); do sum=$(echo "$sum + ${SECS[$1-r$r]}" | bc -l); done
  echo "$sum"
}
