#!/usr/bin/env bash
# push.sh — archive-push with the spool against pgBackRest's asynchronous archive-push, on
# a corpus of real pgbench WAL, the same S3 server (through its TLS front) and the same
# compression (zstd level 3), in one run.
#
#   bench/spool/push.sh        (as root or a user that can run PostgreSQL; ~5 min on 2 cores)
#
# 1. uses WALFERRY_BENCH_WALFERRY or builds walferry (build-bench-spool/),
# 2. starts the project's test S3 server in a new temporary directory: http 127.0.0.1:18500
#    (also 18501..18509), TLS 127.0.0.1:18943; stopped on any exit,
# 3. makes the corpus as bench/archive/run.sh does (PostgreSQL 15, pgbench -i -s SCALE, then
#    pgbench runs after CHECKPOINTs until SEGMENTS segments, archived by cp),
# 4. throughput with a full backlog: a data directory whose pg_wal holds the corpus with a
#    .ready file for every segment; one archive-push call per segment, in PostgreSQL's order,
#    each timed from before its process starts to after it exits; after each exit 0 the
#    .ready becomes .done, as PostgreSQL does.
#      walferry:   spool-path, archive-durability = remote (default), parallel = 4
#      pgBackRest: archive-async=y, process-max=2, spool-path, compress-type=zst level 3
#    Both start cold: no worker / async process runs before the first call.
# 5. the single-core compression limit: zstd -3 -T1 over the corpus (CPU seconds),
# 6. latency of archive-push for an already-confirmed segment (the fast path): a fresh spool,
#    LATENCY segments .ready, the worker confirms them all, then one call per segment, timed
#    as above (process start included); p50 and p95,
# 7. prints the results (also in the results directory: table.txt, calls-*.txt).
#
# Environment: WALFERRY_BENCH_SEGMENTS (default 96), WALFERRY_BENCH_PGBENCH_SCALE (50),
# WALFERRY_BENCH_LATENCY (100), WALFERRY_BENCH_WALFERRY, WALFERRY_BENCH_OUT
# (default build-bench-spool/spool-results), WALFERRY_BENCH_PG_PORT (55532),
# WALFERRY_BENCH_S3_PORT (18500), WALFERRY_BENCH_TLS_PORT (18943), WALFERRY_BENCH_KEEP=1.
BENCH_NAME=push.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
BUILD=$ROOT/build-bench-spool
OUT=${WALFERRY_BENCH_OUT:-$BUILD/spool-results}
SEGMENTS=${WALFERRY_BENCH_SEGMENTS:-96}
SCALE=${WALFERRY_BENCH_PGBENCH_SCALE:-50}
LATENCY=${WALFERRY_BENCH_LATENCY:-100}
PG_PORT=${WALFERRY_BENCH_PG_PORT:-55532}
S3_PORT=${WALFERRY_BENCH_S3_PORT:-18500}
TLS_PORT=${WALFERRY_BENCH_TLS_PORT:-18943}
bench_need pgbackrest zstd
bench_number SEGMENTS 8 900
bench_port PG_PORT S3_PORT TLS_PORT
[ "$LATENCY" -le "$SEGMENTS" ] || die "WALFERRY_BENCH_LATENCY must be <= WALFERRY_BENCH_SEGMENTS"
bench_tmp
mkdir -p "$TMP"/{wf-spool,wf-spool-lat}
rm -rf "$OUT" && mkdir -p "$OUT"

bench_walferry "$BUILD"
bench_s3 "$S3_PORT" "$TLS_PORT"
walferry_conf "$TMP/tools/walferry.conf" walferry "spool-path = $TMP/wf-spool" "parallel = 4"
walferry_conf "$TMP/tools/walferry-lat.conf" walferry-lat "spool-path = $TMP/wf-spool-lat" "parallel = 4"
PGDATA=$TMP/pg/data
pgbackrest_conf "$TMP/tools/pgbackrest.conf" "/$PREFIX/pgbackrest" "$PGDATA" \
  archive-async=y process-max=2 "spool-path=$TMP/pgbr/spool"

# ---- the corpus (as bench/archive/run.sh) ---------------------------------------------------
say "corpus: pgbench -i -s $SCALE, then pgbench until $SEGMENTS segments"
bench_cluster "$PGDATA" "fsync = off" "synchronous_commit = off"
(cd "$PGDATA" && pg pgbackrest "--config=$TMP/tools/pgbackrest.conf" --stanza=bench stanza-create) >"$TMP/stanza.log" 2>&1 ||
  { cat "$TMP/stanza.log" >&2; die "stanza-create failed"; }
for c in walferry walferry-lat; do
  RUN "$WF" --config "$TMP/tools/$c.conf" repo-create --pg-data "$PGDATA" >/dev/null || die "repo-create failed"
done
bench_wal_corpus "$SEGMENTS"
bench_stop_cluster "$PGDATA"
bench_wal_names "$TMP/names.txt" "$SEGMENTS"
say "corpus: $SEGMENTS segments"

# data directory D with pg_wal = hard links to the corpus and a .ready per name in NAMES
make_datadir() { # D NAMES
  mkdir -p "$1/global" "$1/pg_wal/archive_status"
  cp "$PGDATA/PG_VERSION" "$1/"
  cp "$PGDATA/global/pg_control" "$1/global/"
  while read -r n; do ln "$TMP/corpus/$n" "$1/pg_wal/$n"; touch "$1/pg_wal/archive_status/$n.ready"; done <"$2"
  [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$1"
}
# calls D OUT COMMAND... : one call per .ready name in order (PostgreSQL's), timed with the
# process start; .ready -> .done after exit 0 unless KEEP_READY=1. Prints the total seconds.
cat >"$TMP/tools/calls.sh" <<'EOF'
set -euo pipefail
d=$1 out=$2 names=$3
shift 3
cd "$d"
: >"$out"
t0=${EPOCHREALTIME/./}
while read -r n; do
  s=${EPOCHREALTIME/./}
  "$@" "pg_wal/$n" 2>>"$out.stderr" || { echo "call for $n failed" >&2; exit 1; }
  e=${EPOCHREALTIME/./}
  echo "$n $((e - s))" >>"$out"
  [ "${KEEP_READY:-0}" = 1 ] || mv "pg_wal/archive_status/$n.ready" "pg_wal/archive_status/$n.done"
done <"$names"
t1=${EPOCHREALTIME/./}
echo "$(((t1 - t0) / 1000))"
EOF
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP/tools"

# ---- throughput ---------------------------------------------------------------------------
make_datadir "$TMP/d-wf" "$TMP/names.txt"
make_datadir "$TMP/d-pgbr" "$TMP/names.txt"
cat "$TMP"/corpus/* >/dev/null
say "walferry: $SEGMENTS archive-push calls with the spool"
WF_MS=$(RUN bash "$TMP/tools/calls.sh" "$TMP/d-wf" "$TMP/calls-walferry.txt" "$TMP/names.txt" "$WF" --config "$TMP/tools/walferry.conf" archive-push)
say "pgBackRest: $SEGMENTS archive-push calls, archive-async=y process-max=2"
PGBR_MS=$(RUN bash "$TMP/tools/calls.sh" "$TMP/d-pgbr" "$TMP/calls-pgbackrest.txt" "$TMP/names.txt" \
  pgbackrest "--config=$TMP/tools/pgbackrest.conf" --stanza=bench "--pg1-path=$TMP/d-pgbr" archive-push)

# ---- single-core zstd -3 ------------------------------------------------------------------
ZSTD_CPU=$( { /usr/bin/time -f "%U %S" sh -c "cat $TMP/corpus/* | zstd -3 -T1 -q -c >/dev/null"; } 2>&1 | tail -n 1 | awk '{ print $1 + $2 }')

# ---- latency of an already-confirmed segment ---------------------------------------------------
head -n "$LATENCY" "$TMP/names.txt" >"$TMP/lat-names.txt"
make_datadir "$TMP/d-lat" "$TMP/lat-names.txt"
say "latency: the worker confirms $LATENCY segments, then one call each"
(cd "$TMP/d-lat" && RUN "$WF" --config "$TMP/tools/walferry-lat.conf" archive-push "pg_wal/$(head -n 1 "$TMP/lat-names.txt")") 2>/dev/null
for ((i = 0; i < 600; i++)); do
  p=$(cd "$TMP/d-lat" && RUN "$WF" --config "$TMP/tools/walferry-lat.conf" status --json | sed -n 's/.*"segments":\([0-9]*\),"staged".*/\1/p')
  [ "$p" = 0 ] && break
  sleep 0.5
done
[ "$p" = 0 ] || die "the worker did not confirm the latency segments"
KEEP_READY=1 RUN env KEEP_READY=1 bash "$TMP/tools/calls.sh" "$TMP/d-lat" "$TMP/calls-latency.txt" "$TMP/lat-names.txt" \
  "$WF" --config "$TMP/tools/walferry-lat.conf" archive-push >/dev/null
# and with the backlog warning off (spool-backlog-warn = 0: no scan of archive_status)
RUN env KEEP_READY=1 bash "$TMP/tools/calls.sh" "$TMP/d-lat" "$TMP/calls-latency-nowarn.txt" "$TMP/lat-names.txt" \
  "$WF" --config "$TMP/tools/walferry-lat.conf" --spool-backlog-warn 0 archive-push >/dev/null
# reference: the same binary doing nothing (walferry --version), and /bin/true: process start
# (timed inside one shell of the postgres user, as calls.sh times archive-push)
# shellcheck disable=SC2016
RUN bash -c 'for ((i = 0; i < $1; i++)); do s=${EPOCHREALTIME/./}; "$2" --version >/dev/null; e=${EPOCHREALTIME/./}; echo "v $((e - s))"; done' \
  _ "$LATENCY" "$WF" >"$TMP/calls-version.txt"
# shellcheck disable=SC2016
RUN bash -c 'for ((i = 0; i < $1; i++)); do s=${EPOCHREALTIME/./}; /bin/true; e=${EPOCHREALTIME/./}; echo "t $((e - s))"; done' \
  _ "$LATENCY" >"$TMP/calls-true.txt"
pct() { awk '{ print $2 }' "$1" | sort -n | awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; printf "%.2f", a[i] / 1000 }'; }

seg_s() { awk -v n="$SEGMENTS" -v ms="$1" 'BEGIN { printf "%.2f", n * 1000 / ms }'; }
{
  echo "Spool: archive-push, $SEGMENTS segments of real pgbench WAL, zstd level 3, S3 through TLS ($(nproc) cores)"
  echo "  walferry spool (remote durability, parallel 4):   $WF_MS ms, $(seg_s "$WF_MS") segments/s"
  echo "  pgBackRest async (process-max 2):                 $PGBR_MS ms, $(seg_s "$PGBR_MS") segments/s"
  echo "  ratio walferry / pgBackRest:                      $(awk -v a="$PGBR_MS" -v b="$WF_MS" 'BEGIN { printf "%.2f", a / b }')x"
  echo "  zstd -3 -T1 over the corpus (CPU):                ${ZSTD_CPU} s, $(awk -v n="$SEGMENTS" -v c="$ZSTD_CPU" 'BEGIN { printf "%.2f", n / c }') segments/s per core"
  echo "  walferry / single-core zstd limit:                $(awk -v n="$SEGMENTS" -v c="$ZSTD_CPU" -v ms="$WF_MS" 'BEGIN { printf "%.2f", (n * 1000 / ms) / (n / c) }')"
  echo "  confirmed segment, p50 / p95 (process included):  $(pct "$TMP/calls-latency.txt" 50) / $(pct "$TMP/calls-latency.txt" 95) ms ($LATENCY calls)"
  echo "    with spool-backlog-warn = 0:                    $(pct "$TMP/calls-latency-nowarn.txt" 50) / $(pct "$TMP/calls-latency-nowarn.txt" 95) ms"
  echo "    reference: walferry --version:               $(pct "$TMP/calls-version.txt" 50) / $(pct "$TMP/calls-version.txt" 95) ms; /bin/true: $(pct "$TMP/calls-true.txt" 50) / $(pct "$TMP/calls-true.txt" 95) ms (process start only)"
  echo "  machine: $MACHINE"
} | tee "$OUT/table.txt"
cp "$TMP"/calls-*.txt "$OUT/"
