#!/usr/bin/env bash
# get.sh — serial archive-get of a real WAL corpus, one process per segment, in order (as
# PostgreSQL's recovery calls restore_command): walferry with restore prefetch against
# pgBackRest's asynchronous archive-get, same corpus, same S3 server (through its TLS
# front), same compression (zstd level 3), in one run.
#
#   bench/spool/get.sh        (as root or a user that can run PostgreSQL; ~3 minutes)
#
# common.sh makes the corpus and walferry's repository; pgBackRest's stanza is created while
# the corpus' cluster runs and every segment is pushed with pgbackrest archive-push. Then,
# ROUNDS times (tools' order alternating), each tool restores every segment with one call
# per segment (bench/archive/calls.sh: wall time per call, process start included) into an
# empty data directory, with a new, empty spool:
#   walferry:   spool-path = SPOOL, archive-get-prefetch = 8, parallel = 4 (the defaults)
#   pgBackRest: archive-async = y, process-max = 2, spool-path = SPOOL, archive-get-queue-max
#               default (128 MiB = 8 segments), compress-type = zst, compress-level = 3
# Every restored segment must equal the corpus (cmp). Prints segments/s per tool and round
# and the ratio (target: walferry >= 2x pgBackRest); results in WALFERRY_BENCH_OUT (default
# build-bench-spool/get-results/). Environment: see common.sh, plus WALFERRY_BENCH_ROUNDS (2).
BENCH_NAME=get.sh
ROUNDS=${WALFERRY_BENCH_ROUNDS:-2}
command -v pgbackrest >/dev/null || { echo "get.sh: pgbackrest is not installed" >&2; exit 1; }

# pgBackRest: stanza-create needs the running cluster (common.sh calls this hook)
bench_while_running() {
  pgbackrest_conf "$TMP/tools/pgbackrest.conf" "/$PREFIX/pgbackrest" "$PGDATA" \
    archive-async=y process-max=2 "spool-path=$TMP/pgbr/spool"
  [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP/tools" "$TMP/pgbr"
  PGBR=(pgbackrest "--config=$TMP/tools/pgbackrest.conf" --stanza=bench)
  (cd "$PGDATA" && pg "${PGBR[@]}" stanza-create) >"$TMP/stanza-create.log" 2>&1 ||
    { cat "$TMP/stanza-create.log" >&2; die "pgbackrest stanza-create failed"; }
}
# shellcheck source=bench/spool/common.sh
. "$(dirname "$0")/common.sh"
OUT=${WALFERRY_BENCH_OUT:-$BUILD/get-results}
rm -rf "$OUT" && mkdir -p "$OUT"
cp "$ROOT/bench/archive/calls.sh" "$TMP/tools/calls.sh"

say "pgbackrest archive-push of the corpus (synchronous)"
(cd "$TMP/push" && while read -r n; do
  "${AS[@]}" env -i PATH=/usr/bin:/bin HOME="$TMP/home" "${PGBR[@]}" --archive-async=n "--pg1-path=$TMP/push" archive-push "pg_wal/$n" ||
    exit 1
done <"$TMP/names.txt") 2>"$TMP/pgbr-push.err" || { tail -n 5 "$TMP/pgbr-push.err" >&2; die "pgbackrest archive-push failed"; }

declare -A SECS
run_get() {  # run_get TOOL ROUND
  local tool=$1 r=$2 dir=$TMP/get-$1-r$2 cmd secs
  mkdir -p "$dir/pg_wal" "$dir/global"
  cp "$PGDATA/PG_VERSION" "$dir/"
  cp "$PGDATA/global/pg_control" "$dir/global/"
  if [ "$tool" = walferry ]; then
    WF_LOG_LEVEL=info walferry_conf "$TMP/tools/walferry-get-r$r.conf" walferry "spool-path = $TMP/wf-spool-r$r" \
      "archive-get-prefetch = 8" "parallel = 4"
    mkdir -p "$TMP/wf-spool-r$r"
    cmd=("$WF" --config "$TMP/tools/walferry-get-r$r.conf" archive-get %f %p)
  else
    rm -rf "$TMP/pgbr/spool" && mkdir -p "$TMP/pgbr/spool"
    cmd=("${PGBR[@]}" "--pg1-path=$dir" archive-get %f %p)
  fi
  [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
  say "round $r: $tool archive-get, $NSEG calls"
  secs=$(RUN bash "$TMP/tools/calls.sh" "$TMP/names.txt" "$dir" "$TMP/work/calls-$tool-r$r.csv" \
    "$TMP/work/$tool-r$r.stderr" -- "${cmd[@]}") || { tail -n 5 "$TMP/work/$tool-r$r.stderr" >&2; die "$tool archive-get failed"; }
  cp "$TMP/work/calls-$tool-r$r.csv" "$OUT/"
  while read -r n; do cmp -s "$TMP/corpus/$n" "$dir/pg_wal/$n" || die "$tool round $r: $n differs from the corpus"; done <"$TMP/names.txt"
  SECS[$tool-r$r]=$secs
  say "round $r: $tool restored $NSEG segments in $secs s, all identical to the corpus"
  sleep 11  # both tools' background processes finish and leave before the next phase
}
for ((r = 1; r <= ROUNDS; r++)); do
  if [ $((r % 2)) -eq 1 ]; then order=(walferry pgbackrest); else order=(pgbackrest walferry); fi
  for t in "${order[@]}"; do run_get "$t" "$r"; done
done

served=$(cat "$TMP"/work/walferry-r*.stderr | grep -c 'from the prefetch spool' || true)
{
  echo "serial archive-get, $NSEG segments of pgbench WAL (16 MiB), zstd 3, S3 over TLS; $MACHINE"
  printf '%-10s %5s %10s %12s\n' tool round seconds segments/s
  for t in walferry pgbackrest; do
    for ((r = 1; r <= ROUNDS; r++)); do
      printf '%-10s %5d %10.2f %12.1f\n' "$t" "$r" "${SECS[$t-r$r]}" "$(echo "$NSEG / ${SECS[$t-r$r]}" | bc -l)"
    done
  done
  printf 'walferry / pgBackRest segments/s over all rounds: %.2fx (target >= 2x)\n' \
    "$(echo "$(total_seconds pgbackrest) / $(total_seconds walferry)" | bc -l)"
  echo "walferry calls served from the prefetch spool: $served of $((NSEG * ROUNDS))"
} | tee "$OUT/table.txt"
