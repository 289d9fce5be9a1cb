#!/usr/bin/env bash
# run.sh — base backup benchmark: walferry backup-push / backup-fetch against pgBackRest's
# backup --type=full / restore, on the same pgbench cluster, the same S3 server (through its
# TLS front) and the same compression (zstd level 3), both with 2 processes/threads, in one run.
#
#   bench/backup/run.sh     (from any directory, as root or as a user that can run PostgreSQL;
#                            about 6 minutes on 2 cores at the default scale)
#
# 1. builds walferry (cmake, RelWithDebInfo, target walferry) into build-bench-backup/,
# 2. starts the project's test S3 server (scripts/s3-server/start.sh + tls.sh) in a new
#    temporary directory: http on 127.0.0.1:18700 (also 18701..18709), TLS on 127.0.0.1:19143;
#    stopped by pid (stop.sh) on any exit,
# 3. makes the cluster: PostgreSQL 15 (unix socket only, as the postgres user when we are
#    root), pgbench -i -s SCALE (default 150: about 2.2 GiB) with archive_command = true (the
#    initial load's WAL is not part of the benchmark), then archive_command = walferry
#    archive-push && pgbackrest archive-push (each tool waits for its backup's stop segment in
#    its own archive), walferry repo-create and pgbackrest stanza-create, CHECKPOINT,
# 4. runs ROUNDS rounds (default 3) of, in this order in odd rounds and the tools swapped in
#    even ones (page cache warmed by reading the data directory before each backup; each
#    restore into a new empty directory, of the backup its tool took in the same round):
#      walferry backup-push --fast (parallel = 2)
#      pgbackrest backup --type=full --start-fast (process-max=2)
#      walferry backup-fetch LATEST DIR (parallel = 2)
#      pgbackrest restore --pg1-path=DIR (process-max=2)
#    each under /usr/bin/time: wall time, user+system CPU seconds, peak RSS,
# 5. checks the last restores: every file of the data directory (but those PostgreSQL rewrites or
#    the tools write) is present in both restored directories with the size the backup
#    recorded (walferry's manifest; backup-fetch also checked every SHA-256),
# 6. prints the table: each case's wall time per round, the median, MB/s of the median, CPU
#    (median) and peak RSS (max); the walferry/pgBackRest ratio per round and of the medians
#    (also in RESULTS/table.txt, with the tools' output and env.txt).
#
# Throughput (MB/s, MB = 10^6 bytes) is the cluster's size as walferry's manifest records it
# (original_bytes: every file backed up) divided by the wall time, for both tools alike.
# Stored size: walferry's stored_bytes (data objects; the manifest is extra, a few MB);
# pgBackRest's "repository size" from `pgbackrest info --output=json`.
#
# Environment (all optional):
#   WALFERRY_BENCH_PGBENCH_SCALE   pgbench -i -s (default 150; 1..5000)
#   WALFERRY_BENCH_ROUNDS          rounds (default 3; 1..9)
#   WALFERRY_BENCH_WALFERRY        a walferry binary to use instead of building one
#   WALFERRY_BENCH_BUILD_DIR       build directory (default build-bench-backup/)
#   WALFERRY_BENCH_OUT             results directory (default BUILD_DIR/backup-results/)
#   WALFERRY_BENCH_PG_PORT         PostgreSQL port, names its socket (default 55433)
#   WALFERRY_BENCH_S3_PORT         S3 port (default 18700; PORT+1..PORT+9 are taken too)
#   WALFERRY_BENCH_TLS_PORT        TLS front port (default 19143)
#   WALFERRY_BENCH_PGBIN           PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin)
#   WALFERRY_BENCH_KEEP=1          keep the temporary directory (the server is still stopped)
# Exit 0 only if every command succeeded and the restores are complete; missing the targets
# (1.5x pgBackRest's throughput, peak RSS < 256 MiB) is reported, not an error.
# shellcheck disable=SC2015  # "A && B || die": die is meant to run when A or B fails
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
BUILD=${WALFERRY_BENCH_BUILD_DIR:-$ROOT/build-bench-backup}
OUT=${WALFERRY_BENCH_OUT:-$BUILD/backup-results}
SCALE=${WALFERRY_BENCH_PGBENCH_SCALE:-150}
ROUNDS=${WALFERRY_BENCH_ROUNDS:-3}
PG_PORT=${WALFERRY_BENCH_PG_PORT:-55433}
S3_PORT=${WALFERRY_BENCH_S3_PORT:-18700}
TLS_PORT=${WALFERRY_BENCH_TLS_PORT:-19143}
PARALLEL=2
bench_number ROUNDS 1 9
bench_number SCALE 1 5000
bench_port PG_PORT S3_PORT TLS_PORT
bench_need jq pgbackrest curl
bench_tmp
mkdir -p "$TMP"/{restore-walferry,restore-pgbackrest}
rm -rf "$OUT" && mkdir -p "$OUT"

# ---- 1. build ------------------------------------------------------------------------------
bench_walferry "$BUILD"
"$WF" backup-push --help >/dev/null 2>&1 || die "no walferry with backup-push at $WF_SRC"

# ---- 2. the S3 server ------------------------------------------------------------------------
bench_s3 "$S3_PORT" "$TLS_PORT"
walferry_conf "$TMP/tools/walferry.conf" walferry "parallel = $PARALLEL"
PGDATA=$TMP/pg/data
pgbackrest_conf "$TMP/tools/pgbackrest.conf" "/$PREFIX/pgbackrest" "$PGDATA" \
  repo1-retention-full=10 "process-max=$PARALLEL" archive-async=n "spool-path=$TMP/pgbr" log-level-console=info
for f in walferry.conf pgbackrest.conf; do mask_secrets "$TMP/tools/$f" "$OUT/$f"; done
PGBR=(pgbackrest "--config=$TMP/tools/pgbackrest.conf" --stanza=bench)

# ---- 3. the cluster --------------------------------------------------------------------------
say "cluster: PostgreSQL 15, pgbench -i -s $SCALE"
bench_cluster "$PGDATA" "archive_command = 'true'"
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"/restore-*
bench_pgbench_init
psql_1 "ALTER SYSTEM SET archive_command = '$WF --config $TMP/tools/walferry.conf archive-push %p && pgbackrest --config=$TMP/tools/pgbackrest.conf --stanza=bench archive-push %p'"
psql_1 "SELECT pg_reload_conf()" >/dev/null
RUN "$WF" --config "$TMP/tools/walferry.conf" repo-create --pg-data "$PGDATA" >"$TMP/repo-create.log" 2>&1 || { cat "$TMP/repo-create.log" >&2; die "walferry repo-create failed"; }
RUN "${PGBR[@]}" stanza-create >"$TMP/stanza-create.log" 2>&1 || { cat "$TMP/stanza-create.log" >&2; die "pgbackrest stanza-create failed"; }
psql_1 CHECKPOINT
DB_BYTES=$(psql_1 "SELECT sum(pg_database_size(oid)) FROM pg_database")
say "cluster: $((DB_BYTES >> 20)) MiB in databases (pg_database_size)"

# ---- 4. the tools, ROUNDS rounds ------------------------------------------------------------
declare -A WALL CPU RSS  # read through of() (namerefs)
# shellcheck disable=SC2034
# timed TAG COMMAND... : /usr/bin/time of COMMAND (stdout and stderr in RESULTS/TAG.out/.err)
timed() {
  local tag=$1 rc=0 wall user sys rss
  shift
  say "$tag: $*"
  RUN /usr/bin/time -o "$TMP/home/$tag.time" -f '%e %U %S %M' "$@" >"$OUT/$tag.out" 2>"$OUT/$tag.err" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 20 "$OUT/$tag.err" >&2; die "$tag failed (exit $rc)"; }
  read -r wall user sys rss <"$TMP/home/$tag.time"
  WALL[$tag]=$wall CPU[$tag]=$(echo "$user + $sys" | bc) RSS[$tag]=$rss
  say "$tag: ${wall} s wall, ${CPU[$tag]} s CPU, peak RSS $((rss / 1024)) MiB"
}
warm() { find "$PGDATA" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true; }
backup() {
  warm
  case $1 in
  walferry) timed "walferry-backup-r$2" "$WF" --config "$TMP/tools/walferry.conf" backup-push --fast --pg-data "$PGDATA" ;;
  pgbackrest) timed "pgbackrest-backup-r$2" "${PGBR[@]}" backup --type=full --start-fast ;;
  esac
}
restore() {
  local dir=$TMP/restore-$1
  rm -rf "$dir" && mkdir -p "$dir" && { [ ${#AS[@]} -eq 0 ] || chown postgres: "$dir"; }
  sync
  case $1 in
  walferry) timed "walferry-restore-r$2" "$WF" --config "$TMP/tools/walferry.conf" backup-fetch LATEST "$dir" ;;
  pgbackrest) timed "pgbackrest-restore-r$2" "${PGBR[@]}" restore "--pg1-path=$dir" ;;
  esac
}
# The order alternates between rounds (odd rounds: walferry first), so that neither tool
# always runs first; each restore is of the backup its tool took in the same round.
for ((r = 1; r <= ROUNDS; r++)); do
  if [ $((r % 2)) -eq 1 ]; then order=(walferry pgbackrest); else order=(pgbackrest walferry); fi
  for t in "${order[@]}"; do backup "$t" "$r"; done
  for t in "${order[@]}"; do restore "$t" "$r"; done
done

# ---- 5. sizes and a check of the last restores --------------------------------------------------
RUN "$WF" --config "$TMP/tools/walferry.conf" backup-list --json >"$OUT/walferry-list.json"
ORIG=$(jq '.backups[-1].original_bytes' "$OUT/walferry-list.json")
WF_STORED=$(jq '.backups[-1].stored_bytes' "$OUT/walferry-list.json")
RUN "${PGBR[@]}" info --output=json >"$OUT/pgbackrest-info.json"
PB_STORED=$(jq '.[0].backup[-1].info.repository.size' "$OUT/pgbackrest-info.json")
PB_ORIG=$(jq '.[0].backup[-1].info.size' "$OUT/pgbackrest-info.json")
NAME=$(jq -r '.backups[-1].name' "$OUT/walferry-list.json")
# every regular file of walferry's manifest (read raw), except what the tools write themselves
missing=0 checked=0
while read -r size path; do
  case $path in backup_label | tablespace_map | postgresql.auto.conf | pg_internal.init | */pg_internal.init | global/pg_control) continue ;; esac
  checked=$((checked + 1))
  for d in restore-walferry restore-pgbackrest; do
    [ -f "$TMP/$d/$path" ] || { missing=$((missing + 1)); say "$d lacks $path"; continue; }
    [ "$d" = restore-pgbackrest ] || [ "$(stat -c %s "$TMP/$d/$path")" -eq "$size" ] ||
      { missing=$((missing + 1)); say "$d/$path is not $size bytes"; }
  done
done < <(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  --cacert "$CA" "$ENDPOINT/$BUCKET/$PREFIX/walferry/backup/$NAME/manifest.json" |
  jq -r '.files[] | select(.type == "file") | "\(.size) \(.path)"')
[ "$checked" -gt 100 ] || die "could not read the manifest's file list (only $checked files)"
[ "$missing" -eq 0 ] || die "$missing files missing or of the wrong size in the restored directories"
say "restores: $checked files of the manifest present in both restored directories (walferry's with the recorded size)"

# ---- 6. the table: per round, then the median of the rounds --------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mbps() { echo "scale=1; $ORIG / 1000000 / $1" | bc; }
of() {  # of WALL|CPU|RSS CASE : the case's value in each round, one a line
  local -n values=$1
  local r
  for ((r = 1; r <= ROUNDS; r++)); do echo "${values[$2-r$r]}"; done
}
{
  echo "cluster: pgbench scale $SCALE, $((ORIG >> 20)) MiB backed up by walferry ($ORIG bytes; pgBackRest: $PB_ORIG bytes); $ROUNDS rounds"
  printf '%-22s %-22s %9s %9s %11s %9s %12s\n' case "wall s per round" "median s" "MB/s" "stored MiB" "CPU s" "peak RSS MiB"
  for c in walferry-backup pgbackrest-backup walferry-restore pgbackrest-restore; do
    stored=-
    case $c in walferry-backup) stored=$((WF_STORED >> 20)) ;; pgbackrest-backup) stored=$((PB_STORED >> 20)) ;; esac
    w=$(of WALL "$c" | median)
    printf '%-22s %-22s %9s %9s %11s %9s %12s\n' "$c" "$(of WALL "$c" | tr '\n' ' ')" "$w" "$(mbps "$w")" "$stored" \
      "$(of CPU "$c" | median)" "$(($(of RSS "$c" | sort -g | tail -n1) / 1024))"
  done
  for op in backup restore; do
    ratios=""
    for ((r = 1; r <= ROUNDS; r++)); do ratios+="$(echo "scale=2; ${WALL[pgbackrest-$op-r$r]} / ${WALL[walferry-$op-r$r]}" | bc)x "; done
    echo "throughput walferry/pgBackRest, $op: per round $ratios; of the medians $(echo "scale=2; $(of WALL "pgbackrest-$op" | median) / $(of WALL "walferry-$op" | median)" | bc)x (target >= 1.5x)"
  done
  echo "walferry peak RSS (max over all runs): $(( $( (of RSS walferry-backup; of RSS walferry-restore) | sort -g | tail -n1) / 1024 )) MiB (target < 256)"
} | tee "$OUT/table.txt"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "walferry: $("$WF" --version) ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "pgbackrest: $(pgbackrest version)"
  echo "postgresql: $("$PGBIN/postgres" --version)"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2
