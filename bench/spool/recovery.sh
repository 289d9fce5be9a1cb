#!/usr/bin/env bash
# recovery.sh — a real point-in-time recovery whose restore_command is walferry archive-get
# (restore prefetch on: spool-path, archive-get-prefetch = 8, parallel = 4, zstd 3, S3 over
# TLS), against the same recovery with restore_command = cp from a local directory holding
# the same WAL.
#
#   bench/spool/recovery.sh   (as root or a user that can run PostgreSQL; ~3 minutes)
#
# common.sh makes the base backup, the corpus (SEGMENTS segments of pgbench WAL after the
# backup) and walferry's repository. Then, ROUNDS times (order alternating), a copy of the
# base backup recovers to TARGET (recovery_target_time, recovery_target_action = promote)
# with each restore_command; the time is from pg_ctl start to pg_is_in_recovery() = false
# (polled every 50 ms). Each recovered cluster must have the pgbench tables' checksum taken at
# TARGET on the source. Prints the times and the ratio (target: walferry within 1.5x of cp);
# results in WALFERRY_BENCH_OUT (default build-bench-spool/recovery-results/).
# Environment: see common.sh, plus WALFERRY_BENCH_ROUNDS (2).
BENCH_NAME=recovery.sh
ROUNDS=${WALFERRY_BENCH_ROUNDS:-2}
# shellcheck source=bench/spool/common.sh
. "$(dirname "$0")/common.sh"
OUT=${WALFERRY_BENCH_OUT:-$BUILD/recovery-results}
rm -rf "$OUT" && mkdir -p "$OUT"

now_us() { echo "${EPOCHREALTIME/./}"; }
declare -A SECS
NEXT_PORT=$((PG_PORT + 1))
recover() {  # recover TOOL ROUND
  local tool=$1 r=$2 dir=$TMP/rec-$1-r$2 restore t0 t1 state sum port=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
  cp -a "$TMP/base" "$dir"
  if [ "$tool" = walferry ]; then
    WF_LOG_LEVEL=info walferry_conf "$TMP/tools/walferry-rec-r$r.conf" walferry "spool-path = $TMP/wf-spool-r$r" \
      "archive-get-prefetch = 8" "parallel = 4"
    mkdir -p "$TMP/wf-spool-r$r"
    restore="$WF --config $TMP/tools/walferry-rec-r$r.conf archive-get %f %p"
  else
    restore="cp $TMP/corpus/%f %p"
  fi
  cat >>"$dir/postgresql.conf" <<EOF
port = $port
archive_mode = off
restore_command = '$restore'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
EOF
  touch "$dir/recovery.signal"
  [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
  BENCH_CLUSTERS+=("$dir")
  say "round $r: recovery with restore_command = $tool"
  t0=$(now_us)
  pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir.log" -W start >/dev/null || die "pg_ctl start failed"
  for ((i = 0; i < 6000; i++)); do
    state=$(pg "$PGBIN/psql" -X -qAt -p "$port" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null || true)
    [ "$state" = f ] && break
    pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null || { tail -n 20 "$dir.log" >&2; die "$tool recovery failed"; }
    sleep 0.05
  done
  t1=$(now_us)
  [ "$state" = f ] || die "$tool recovery did not end within 300 s"
  SECS[$tool-r$r]=$(printf '%d.%06d' $(((t1 - t0) / 1000000)) $(((t1 - t0) % 1000000)))
  sum=$(pg "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "$CHECKSUM_SQL")
  [ "$sum" = "$SUM_TARGET" ] || die "$tool recovery: pgbench tables differ from the source at the target"
  grep -q 'recovery stopping before commit' "$dir.log" || die "$tool recovery did not stop at the target: $(tail -n 5 "$dir.log")"
  local restored
  restored=$(grep -c 'restored log file "[0-9A-F]\{24\}" from archive' "$dir.log" || true)
  say "round $r: $tool recovery to the target in ${SECS[$tool-r$r]} s ($restored segments restored), data exact"
  cp "$dir.log" "$OUT/postgresql-$tool-r$r.log"
  pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
}
for ((r = 1; r <= ROUNDS; r++)); do
  if [ $((r % 2)) -eq 1 ]; then order=(walferry cp); else order=(cp walferry); fi
  for t in "${order[@]}"; do recover "$t" "$r"; done
done
served=$(cat "$TMP"/rec-walferry-r*.log | grep -c 'from the prefetch spool' || true)
{
  echo "PITR of $NSEG segments of pgbench WAL (16 MiB) to a target time; $MACHINE"
  printf '%-10s %5s %10s\n' restore round seconds
  for t in walferry cp; do
    for ((r = 1; r <= ROUNDS; r++)); do printf '%-10s %5d %10.2f\n' "$t" "$r" "${SECS[$t-r$r]}"; done
  done
  printf 'walferry archive-get / local cp recovery time over all rounds: %.2fx (target <= 1.5x)\n' \
    "$(echo "$(total_seconds walferry) / $(total_seconds cp)" | bc -l)"
  echo "walferry calls served from the prefetch spool: $served"
} | tee "$OUT/table.txt"
