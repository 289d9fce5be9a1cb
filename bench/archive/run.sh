#!/usr/bin/env bash
# run.sh — WAL archiving benchmark: walferry archive-push/archive-get against pgBackRest's
# synchronous archive-push/archive-get, on the same corpus of real WAL segments, the same
# S3 server (through its TLS front) and the same compression (zstd level 3), in one run.
#
#   bench/archive/run.sh            (from any directory, as root or as a user that can run
#                                    PostgreSQL; about 4 minutes on 2 cores)
#
# 1. builds walferry (cmake, RelWithDebInfo, target walferry) into build-bench-archive/,
# 2. starts the project's test S3 server (scripts/s3-server/start.sh + tls.sh) in a new
#    temporary directory: http on 127.0.0.1:18000 (also takes 18001..18009), TLS on
#    127.0.0.1:18443; it is stopped by pid (stop.sh) on any exit,
# 3. makes the corpus: a throwaway PostgreSQL 15 cluster (port 55432, unix socket only, run
#    as the postgres user when we are root) with archive_mode = on and archive_command =
#    cp into a corpus directory; pgbench -i -s SCALE, then 5-second pgbench runs, each
#    after a CHECKPOINT (so the WAL carries full-page images, as after every checkpoint in
#    production), until the cluster has written SEGMENTS segments; pg_switch_wal, wait
#    until all are archived. pgBackRest's stanzas (one per round) are created while the
#    cluster runs; then it is stopped. The corpus is the first SEGMENTS archived segments,
# 4. runs ROUNDS rounds, each on new repositories, the tools' order alternating (round 1:
#    walferry push, pgBackRest push, walferry get, pgBackRest get; round 2: pgBackRest
#    first). Every call is made as PostgreSQL would make it: one process per segment, in
#    order, in a data directory whose pg_wal/ holds the segments, %p = pg_wal/NAME (get:
#    %f %p = NAME pg_wal/NAME, into another data directory). Each call is timed from
#    before its process starts to after it exits, with its peak RSS and CPU time (GNU
#    time; bench/archive/calls.sh). The restored files must equal the corpus (cmp),
# 5. measures what bounds a call (reference): process start of each tool (a no-op),
#    zstd -b3, SHA-256/SHA-1/MD5, one S3 PUT/GET/HEAD over a new TLS connection (curl),
#    writing a segment to a new file with and without fsync, and the S3 requests of each
#    tool per call with radosgw's latency (its request log),
# 6. prints the table, also written with the raw numbers to the results directory:
#    table.txt, summary.csv, calls-TOOL-OP-rN.csv (one row per call), reference.txt,
#    requests-TOOL-OP-rN.log (the server's log line of each request), objects-TOOL-rN.txt
#    (stored objects and sizes), env.txt, the tools' stderr (TOOL-OP-rN.stderr) and the
#    configuration files (secrets masked).
#
# walferry: --config FILE with repo s3://walferry-test/PREFIX/rN/walferry, s3-endpoint
# https://127.0.0.1:18443, s3-ca-file = the server's certificate, path style, zstd level 3.
# pgBackRest: archive-async=n, process-max=1, compress-type=zst, compress-level=3,
# repo1-type=s3, repo1-path=/PREFIX/rN/pgbackrest, repo1-s3-endpoint=127.0.0.1 (the Host
# it signs), repo1-s3-host=localhost (where it connects: 127.0.0.1; pgBackRest 2.45
# verifies only DNS names of the certificate, which holds DNS:localhost and IP:127.0.0.1),
# repo1-s3-port=18443, repo1-s3-ca-file = the same certificate, repo1-s3-uri-style=path.
# Both verify the server's certificate. Every call runs with the same clean environment
# (env -i), so no WALFERRY_*, AWS_* or PG* variable of the caller can change it.
#
# Environment (all optional):
#   WALFERRY_BENCH_SEGMENTS        segments in the corpus (default 128; 8..900)
#   WALFERRY_BENCH_ROUNDS          rounds (default 2; 1..9)
#   WALFERRY_BENCH_PGBENCH_SCALE   pgbench -i -s (default 50, ~40 segments)
#   WALFERRY_BENCH_TOOLS           tools to run (default "walferry pgbackrest")
#   WALFERRY_BENCH_WALFERRY        a walferry binary to use instead of building one
#   WALFERRY_BENCH_BUILD_DIR       build directory (default build-bench-archive/)
#   WALFERRY_BENCH_OUT             results directory (default BUILD_DIR/archive-results/)
#   WALFERRY_BENCH_PG_PORT         PostgreSQL port (default 55432)
#   WALFERRY_BENCH_S3_PORT         S3 port (default 18000; PORT+1..PORT+9 are taken too)
#   WALFERRY_BENCH_TLS_PORT        TLS front port (default 18443)
#   WALFERRY_BENCH_PGBIN           PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin)
#   WALFERRY_BENCH_KEEP=1          keep the temporary directory (the server is still stopped)
# Needs: scripts/install-deps.sh's packages, plus pgbackrest, time (/usr/bin/time) and zstd.
# Exit 0 only if every call succeeded and every restored segment equals the corpus; missing
# the targets (1.5x pgBackRest's segments/s, peak RSS < 64 MiB) is reported, not an error.
# shellcheck disable=SC2015  # "A && B || die": die is meant to run when A or B fails
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
HERE=$ROOT/bench/archive
BUILD=${WALFERRY_BENCH_BUILD_DIR:-$ROOT/build-bench-archive}
OUT=${WALFERRY_BENCH_OUT:-$BUILD/archive-results}
SEGMENTS=${WALFERRY_BENCH_SEGMENTS:-128}
SCALE=${WALFERRY_BENCH_PGBENCH_SCALE:-50}
ROUNDS=${WALFERRY_BENCH_ROUNDS:-2}
TOOLS=${WALFERRY_BENCH_TOOLS:-walferry pgbackrest}
PG_PORT=${WALFERRY_BENCH_PG_PORT:-55432}
S3_PORT=${WALFERRY_BENCH_S3_PORT:-18000}
TLS_PORT=${WALFERRY_BENCH_TLS_PORT:-18443}
bench_number SEGMENTS 8 900
bench_number ROUNDS 1 9
bench_number SCALE 1 9999
bench_port PG_PORT S3_PORT TLS_PORT
for t in $TOOLS; do
  case $t in walferry | pgbackrest) ;; *) die "WALFERRY_BENCH_TOOLS: unknown tool '$t' (walferry, pgbackrest)" ;; esac
done
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
bench_need curl zstd sha256sum sha1sum cmp
if has_tool pgbackrest; then bench_need pgbackrest; fi
bench_tmp
mkdir -p "$TMP"/{push/global,push/pg_wal,ref}
rm -rf "$OUT" && mkdir -p "$OUT"

# ---- 1. build ----------------------------------------------------------------------------
if has_tool walferry; then
  bench_walferry "$BUILD"
  "$WF" archive-push --help >/dev/null 2>&1 || die "$WF_SRC has no archive-push command"
fi
cp "$HERE/calls.sh" "$TMP/tools/calls.sh"
CALLS=$TMP/tools/calls.sh
W=$TMP/work # calls.sh's output (written as the postgres user)

# ---- 2. the S3 server ----------------------------------------------------------------------
bench_s3 "$S3_PORT" "$TLS_PORT"
# walferry's configuration, one file per round (its own repository: r1/walferry, ...)
for ((r = 1; r <= ROUNDS; r++)); do walferry_conf "$TMP/tools/walferry-r$r.conf" "r$r/walferry"; done
PGDATA=$TMP/pg/data
pgbackrest_conf "$TMP/tools/pgbackrest.conf" "/$PREFIX/r1/pgbackrest" "$PGDATA" \
  archive-async=n process-max=1 "spool-path=$TMP/pgbr"
mask_secrets "$TMP/tools/walferry-r1.conf" "$OUT/walferry.conf"
mask_secrets "$TMP/tools/pgbackrest.conf" "$OUT/pgbackrest.conf"
# (round r uses --repo1-path=/PREFIX/rR/pgbackrest on the command line)
PGBR=(pgbackrest "--config=$TMP/tools/pgbackrest.conf" "--config-include-path=$TMP/pgbr/conf.d" --stanza=bench)

# ---- 3. the corpus -----------------------------------------------------------------------
say "corpus: PostgreSQL 15 on port $PG_PORT, pgbench -i -s $SCALE, then pgbench until $SEGMENTS segments"
bench_cluster "$PGDATA" "fsync = off" "synchronous_commit = off"
if has_tool pgbackrest; then # one stanza (repository) per round, while the cluster runs
  for ((r = 1; r <= ROUNDS; r++)); do
    (cd "$PGDATA" && pg "${PGBR[@]}" "--repo1-path=/$PREFIX/r$r/pgbackrest" stanza-create) >"$TMP/stanza-create.log" 2>&1 ||
      { cat "$TMP/stanza-create.log" >&2; die "pgbackrest stanza-create failed"; }
  done
fi
# walferry's counterpart of stanza-create: each round's repository is made once, for this cluster
if has_tool walferry; then
  for ((r = 1; r <= ROUNDS; r++)); do
    RUN "$WF" --config "$TMP/tools/walferry-r$r.conf" repo-create --pg-data "$PGDATA" >"$TMP/repo-create.log" 2>&1 ||
      { cat "$TMP/repo-create.log" >&2; die "walferry repo-create failed"; }
  done
fi
bench_wal_corpus "$SEGMENTS"
bench_stop_cluster "$PGDATA"
PG_SYSID=$(pg "$PGBIN/pg_controldata" -D "$PGDATA" | awk -F': *' '/Database system identifier/ { print $2 }')
bench_wal_names "$TMP/names.txt" "$SEGMENTS"
CORPUS_BYTES=0
while read -r n; do CORPUS_BYTES=$((CORPUS_BYTES + $(stat -c %s "$TMP/corpus/$n"))); done <"$TMP/names.txt"
say "corpus: $SEGMENTS segments ($(head -n1 "$TMP/names.txt")..$(tail -n1 "$TMP/names.txt")), $((CORPUS_BYTES >> 20)) MiB, system identifier $PG_SYSID"

# Data directories the tools run in: PG_VERSION, global/pg_control of the corpus' cluster
# and pg_wal/ (push: hard links to the corpus; get: empty, the tools write there).
cp "$PGDATA/PG_VERSION" "$TMP/push/"
cp "$PGDATA/global/pg_control" "$TMP/push/global/"
while read -r n; do ln "$TMP/corpus/$n" "$TMP/push/pg_wal/$n"; done <"$TMP/names.txt"
for t in $TOOLS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    mkdir -p "$TMP/get-$t-r$r/pg_wal"
    cp -r "$TMP/push/PG_VERSION" "$TMP/push/global" "$TMP/get-$t-r$r/"
  done
done
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP/push" "$TMP"/get-*
# warm the page cache the same way for both tools
cat "$TMP"/push/pg_wal/* >/dev/null

# ---- 4. the tools, one process per segment -------------------------------------------------
# Every call gets the same clean environment. Each round has its own repositories; the
# order of the tools alternates between rounds (round 1: walferry first), so that neither
# always runs first, or always runs right after the other's pushes.
declare -A SECS
FAILED=0
log_size() { stat -c %s "$RGWLOG" 2>/dev/null || echo 0; }
# phase TOOL OP ROUND CWD COMMAND... — one call per segment through calls.sh. The server's
# request log lines of the phase (one "beast:" line per request) are kept, compacted to
# "time method status bytes latency_s uri", in requests-TOOL-OP-rROUND.log.
phase() {
  local tool=$1 op=$2 r=$3 cwd=$4 off secs rc=0 tag=$1-$2-r$3
  shift 4
  say "round $r/$ROUNDS: $tool $op, $SEGMENTS calls"
  off=$(log_size)
  secs=$(RUN bash "$CALLS" "$TMP/names.txt" "$cwd" "$W/calls-$tag.csv" "$W/$tag.stderr" -- "$@") || rc=$?
  cp "$W/calls-$tag.csv" "$W/$tag.stderr" "$OUT/" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    say "$tool $op FAILED (exit $rc); its stderr, last lines:"
    tail -n 15 "$W/$tag.stderr" >&2
    FAILED=1
    return 0
  fi
  SECS[$tag]=$secs
  sleep 1   # radosgw writes its log asynchronously
  tail -c +$((off + 1)) "$RGWLOG" | grep ' beast: ' |
    sed -E 's/.*\[[^:]*:([0-9:.]+) [^]]*\] "([A-Z]+) ([^ ]*) HTTP[^"]*" ([0-9]+) ([0-9-]+) .*latency=([0-9.]+)s.*/\1 \2 \4 \5 \6 \3/' \
    >"$OUT/requests-$tag.log"
}
ORDER=()
for t in walferry pgbackrest; do has_tool "$t" && ORDER+=("$t"); done
for ((r = 1; r <= ROUNDS; r++)); do
  order=("${ORDER[@]}")
  if [ $((r % 2)) -eq 0 ]; then order=(); for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do order+=("${ORDER[i]}"); done; fi
  for op in push get; do
    for t in "${order[@]}"; do
      if [ "$op" = get ] && [ -z "${SECS[$t-push-r$r]:-}" ]; then continue; fi
      if [ "$op" = push ]; then cwd=$TMP/push; else cwd=$TMP/get-$t-r$r; fi
      if [ "$t" = walferry ]; then
        cmd=("$WF" --config "$TMP/tools/walferry-r$r.conf")
      else
        cmd=("${PGBR[@]}" "--repo1-path=/$PREFIX/r$r/pgbackrest" "--pg1-path=$cwd")
      fi
      if [ "$op" = push ]; then cmd+=(archive-push %p); else cmd+=(archive-get %f %p); fi
      phase "$t" "$op" "$r" "$cwd" "${cmd[@]}"
    done
  done
done

# correctness: every restored segment byte-identical to the corpus
declare -A IDENTICAL
for t in $TOOLS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    [ -n "${SECS[$t-get-r$r]:-}" ] || continue
    bad=0
    while read -r n; do
      cmp -s "$TMP/corpus/$n" "$TMP/get-$t-r$r/pg_wal/$n" || { bad=$((bad + 1)); say "$t round $r: pg_wal/$n differs from the corpus"; }
    done <"$TMP/names.txt"
    IDENTICAL[$t]=$((${IDENTICAL[$t]:-0} + SEGMENTS - bad))
    [ "$bad" -eq 0 ] || FAILED=1
  done
done

# stored bytes: list each tool's prefix (ListObjects v1; keys hold only [A-Za-z0-9/._-])
s3curl() {
  curl -sS --fail --max-time 30 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --cacert "$CA" "$@"
}
list_objects() {  # list_objects PREFIX — "KEY SIZE" lines
  local prefix=${1//\//%2F} marker="" page i
  for ((i = 0; i < 20; i++)); do
    page=$(s3curl "$ENDPOINT/$BUCKET?${marker:+marker=${marker//\//%2F}&}max-keys=1000&prefix=$prefix") || return 1
    echo "$page" | sed 's/<Contents>/\n/g' |
      sed -n 's/.*<Key>\([^<]*\)<\/Key>.*<Size>\([0-9]*\)<\/Size>.*/\1 \2/p'
    [[ $page == *"<IsTruncated>true</IsTruncated>"* ]] || return 0
    marker=$(echo "$page" | sed 's/<Contents>/\n/g' | sed -n 's/.*<Key>\([^<]*\)<\/Key>.*/\1/p' | tail -n1)
  done
  return 1
}
declare -A STORED
for t in $TOOLS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    [ -n "${SECS[$t-push-r$r]:-}" ] || continue
    list_objects "$PREFIX/r$r/$t/" >"$OUT/objects-$t-r$r.txt" || die "could not list $PREFIX/r$r/$t/"
    # segment objects: walferry wal/<16 hex>/<24 hex>; pgBackRest .../<24 hex>-<sha1>.zst
    read -r n s < <(grep -E '/[0-9A-F]{24}(-[0-9a-f]{40}\.zst)? [0-9]+$' "$OUT/objects-$t-r$r.txt" |
      awk '{ n++; s += $2 } END { print n + 0, s + 0 }')
    [ "$n" -eq "$SEGMENTS" ] || { say "$t round $r: $SEGMENTS segments pushed but $n segment objects stored"; FAILED=1; }
    [ -n "${STORED[$t]:-}" ] || STORED[$t]=$s
  done
done

# median — the median of the numbers on stdin, one a line; pct Q — the Q-th percentile
# (nearest rank, 0 < Q <= 100)
pct() { sort -g | awk -v q="$1" '{ v[NR] = $1 } END { i = int(NR * q / 100); if (i < NR * q / 100) i++; if (i < 1) i = 1; print v[i] }'; }
median() { pct 50; }

# ---- 5. reference: what bounds a call ------------------------------------------------------------
say "reference: process start, zstd, digests, S3 round trips, writes"
REF=$OUT/reference.txt
seq -f 'noop%02g' 1 20 >"$TMP/noop.txt"
noop() {  # noop LABEL COMMAND... — 20 calls through calls.sh; prints the median ms
  local label=$1
  shift
  RUN bash "$CALLS" "$TMP/noop.txt" "$TMP/ref" "$W/noop-$label.csv" "$W/noop.stderr" -- "$@" >/dev/null ||
    { echo "-"; return; }
  cp "$W/noop-$label.csv" "$OUT/"
  printf '%.1f ms (peak RSS %.1f MiB)' "$(tail -n +2 "$W/noop-$label.csv" | cut -d, -f3 | median | awk '{ print $1 * 1000 }')" \
    "$(tail -n +2 "$W/noop-$label.csv" | cut -d, -f5 | sort -n | tail -n1 | awk '{ print $1 / 1024 }')"
}
# ms_of COMMAND... — wall time of COMMAND in ms (EPOCHREALTIME)
ms_of() {
  local t0=$EPOCHREALTIME t1
  "$@"
  t1=$EPOCHREALTIME
  echo $(( ((${t1%.*} - ${t0%.*}) * 1000000 + 10#${t1#*.} - 10#${t0#*.}) / 1000 ))
}
{
  echo "process start, median of 20 calls through calls.sh (/usr/bin/time + exec included):"
  echo "  true (the harness alone)      $(noop true true)"
  has_tool walferry && echo "  walferry --version            $(noop walferry-version "$WF" --version)"
  has_tool pgbackrest && echo "  pgbackrest version            $(noop pgbackrest-version pgbackrest version)"
  # zstd's own in-memory benchmark (one thread, no process start, no file I/O) on every
  # 8th segment of the corpus; its MB are 10^6 bytes
  sample=$(awk -v d="$TMP/corpus" 'NR % 8 == 1 { print d "/" $1 }' "$TMP/names.txt")
  # shellcheck disable=SC2086  # file names without spaces
  zstd -q -b$LEVEL -i2 $sample 2>&1 | tr '\r' '\n' | grep -E '^ *-?[0-9]+ +[0-9]+ \(' | tail -n1 |
    awk -v l="$LEVEL" -v n="$(echo "$sample" | wc -l)" '{ c = $4 + 0; d = $6 + 0; r = $3; gsub(/[()]/, "", r)
      printf "zstd -b%d (libzstd in memory, 1 thread, %d segments): compress %.0f MB/s = %.1f ms per 16 MiB segment, decompress %.0f MB/s = %.1f ms, ratio %.4f\n",
        l, n, c, 16.777216 / c * 1000, d, 16.777216 / d * 1000, 1 / r }'
  mid=$(sed -n "$(((SEGMENTS + 1) / 2))p" "$TMP/names.txt")
  body=$TMP/ref/$mid.zst
  zstd -q -$LEVEL -c "$TMP/corpus/$mid" >"$body"
  dgst() { echo "$sample" | xargs openssl dgst "-$1" >/dev/null; }
  for d in sha256 sha1 md5; do
    ms=$(ms_of dgst $d)
    awk -v ms="$ms" -v n="$(echo "$sample" | wc -l)" -v d=$d 'BEGIN {
      printf "%s (openssl dgst, one process over the same segments): %.1f ms per segment\n", d, ms / n }'
  done
  # S3 over a new TLS connection per request, as a new process per call must do
  for i in $(seq 1 10); do
    s3curl -o /dev/null -w '%{time_total}\n' -H "Content-MD5: $(openssl dgst -md5 -binary "$body" | base64)" \
      -T "$body" "$ENDPOINT/$BUCKET/$PREFIX/ref/put-$i"
  done | median | awk -v b="$(stat -c %s "$body")" '{
    printf "curl PUT of a compressed segment (%d bytes) over a new TLS connection, median of 10: %.1f ms\n", b, $1 * 1000 }'
  for i in $(seq 1 10); do
    s3curl -o /dev/null -w '%{time_total}\n' "$ENDPOINT/$BUCKET/$PREFIX/ref/put-$i"
  done | median | awk '{ printf "curl GET of it over a new TLS connection, median of 10: %.1f ms\n", $1 * 1000 }'
  for i in $(seq 1 20); do
    s3curl -o /dev/null -w '%{time_connect} %{time_appconnect} %{time_total}\n' -I "$ENDPOINT/$BUCKET/$PREFIX/ref/put-1"
  done >"$TMP/head.txt"
  printf 'curl HEAD over a new TLS connection, median of 20: connect %.1f ms, TLS handshake %.1f ms, total %.1f ms\n' \
    "$(awk '{ print $1 * 1000 }' "$TMP/head.txt" | median)" "$(awk '{ print ($2 - $1) * 1000 }' "$TMP/head.txt" | median)" \
    "$(awk '{ print $3 * 1000 }' "$TMP/head.txt" | median)"
  # writing a segment into a new file: the page cache's new pages are most of the cost here
  for i in 1 2 3 4 5; do
    ms_of dd if="$TMP/corpus/$mid" of="$TMP/ref/nosync-$i" bs=1M status=none
  done | median | awk '{ printf "write of a 16 MiB segment to a new file (dd, no fsync), median of 5: %d ms\n", $1 }'
  for i in 1 2 3 4 5; do
    ms_of dd if="$TMP/corpus/$mid" of="$TMP/ref/nosync-$i" bs=1M conv=notrunc status=none
  done | median | awk '{ printf "write of it over the same file again (pages already cached), median of 5: %d ms\n", $1 }'
  for i in 1 2 3 4 5; do
    ms_of dd if="$TMP/corpus/$mid" of="$TMP/ref/fsync-$i" bs=1M conv=fsync status=none
  done | median | awk '{ printf "write + fsync of a 16 MiB segment to a new file (dd conv=fsync), median of 5: %d ms\n", $1 }'
  for t in $TOOLS; do
    for op in push get; do
      compgen -G "$OUT/requests-$t-$op-r*.log" >/dev/null || continue
      echo "S3 requests per call, $t $op (server log, all rounds; server = radosgw's latency, mean per request):"
      logs=("$OUT"/requests-"$t"-"$op"-r*.log)
      cat "${logs[@]}" | awk -v n=$((SEGMENTS * ${#logs[@]})) '{ k = $2 " " $3; c[k]++; l[k] += $5 }
        END { for (k in c) printf "  %-8s %5.2f per call, server %5.1f ms each\n", k, c[k] / n, l[k] * 1000 / c[k] }' | sort
    done
  done
} >"$REF"

# ---- 6. the table ------------------------------------------------------------------------
# One row per tool and operation over all rounds: segments/s = all calls / the sum of the
# rounds' loop times; latency percentiles over all calls (nearest rank); CPU = mean
# user+sys per call; RSS = the largest peak of any call; server = mean per call of the
# radosgw latencies of the tool's requests; req = S3 requests per call.
echo "tool,op,calls,seconds,segments_per_s,MiB_per_s,p50_ms,p95_ms,max_ms,cpu_ms_per_call,peak_rss_mib,server_ms_per_call,requests_per_call,stored_ratio,identical,segments_per_s_by_round" >"$OUT/summary.csv"
for op in push get; do
  for t in $TOOLS; do
    secs=0 rounds="" files=() logs=()
    for ((r = 1; r <= ROUNDS; r++)); do
      [ -n "${SECS[$t-$op-r$r]:-}" ] || continue
      secs=$(awk -v a="$secs" -v b="${SECS[$t-$op-r$r]}" 'BEGIN { printf "%.6f", a + b }')
      rounds="$rounds $(awk -v n="$SEGMENTS" -v s="${SECS[$t-$op-r$r]}" 'BEGIN { printf "%.2f", n / s }')"
      files+=("$W/calls-$t-$op-r$r.csv") logs+=("$OUT/requests-$t-$op-r$r.log")
    done
    [ ${#files[@]} -gt 0 ] || continue
    ratio=- ident=-
    [ "$op" = push ] && [ -n "${STORED[$t]:-}" ] && ratio=$(awk -v s="${STORED[$t]}" -v o="$CORPUS_BYTES" 'BEGIN { printf "%.4f", s / o }')
    [ "$op" = get ] && ident="${IDENTICAL[$t]:-0}/$((SEGMENTS * ${#files[@]}))"
    lat() { for f in "${files[@]}"; do tail -n +2 "$f"; done | cut -d, -f3; }
    read -r server reqs < <(cat "${logs[@]}" | awk -v n=$((SEGMENTS * ${#files[@]})) '{ s += $5; c++ } END { printf "%.1f %.2f\n", s * 1000 / n, c / n }')
    for f in "${files[@]}"; do tail -n +2 "$f"; done |
      awk -F, -v t="$t" -v op="$op" -v secs="$secs" -v bytes=$((CORPUS_BYTES * ${#files[@]})) -v ratio="$ratio" \
        -v ident="$ident" -v p50="$(lat | pct 50)" -v p95="$(lat | pct 95)" -v max="$(lat | pct 100)" \
        -v server="$server" -v reqs="$reqs" -v rounds="${rounds# }" '
      { n++; cpu += ($6 + $7) * 1000; if ($5 + 0 > rss) rss = $5 + 0 }
      END { printf "%s,%s,%d,%.3f,%.2f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%s,%s,%s,%s,%s\n", t, op, n, secs, n / secs,
              bytes / secs / 1048576, p50 * 1000, p95 * 1000, max * 1000, cpu / n, rss / 1024, server, reqs,
              ratio, ident, rounds }' >>"$OUT/summary.csv"
  done
done
{
  echo "WAL archiving, one process per segment: walferry vs pgBackRest $(pgbackrest version 2>/dev/null | awk '{ print $2 }') (archive-async=n), zstd -$LEVEL"
  echo "$ENDPOINT (radosgw via stunnel), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "corpus: $SEGMENTS segments of PostgreSQL 15 WAL (pgbench -s $SCALE), $((CORPUS_BYTES >> 20)) MiB; $ROUNDS round(s), tool order alternating"
  echo "seg/s and MiB/s (of original WAL) over all rounds, [per round]; latency per call with process start;"
  echo "cpu = user+sys per call; server = radosgw's time on the call's requests; req = S3 requests per call"
  awk -F, 'NR > 1 {
      printf "%-10s %-4s | %5.2f seg/s [%s] %6.1f MiB/s | p50 %5.0f p95 %5.0f max %5.0f ms | cpu %3.0f ms | rss %4.1f MiB | server %3.0f ms | req %4.2f | stored %s | identical %s\n",
        $1, $2, $5, $16, $6, $7, $8, $9, $10, $11, $12, $13, ($14 == "-" ? "     -" : $14), $15
      sps[$1, $2] = $5; nr = split($16, v, " "); for (i = 1; i <= nr; i++) rs[$1, $2, i] = v[i]
      if ($1 == "walferry" && $11 > wrss) wrss = $11 }
    END {
      for (i = 1; i <= 2; i++) { op = i == 1 ? "push" : "get"
        if ((("walferry" SUBSEP op) in sps) && (("pgbackrest" SUBSEP op) in sps)) {
          r = sps["walferry", op] / sps["pgbackrest", op]; per = ""
          for (j = 1; j <= nr; j++) if ((("walferry" SUBSEP op SUBSEP j) in rs) && (("pgbackrest" SUBSEP op SUBSEP j) in rs))
            per = per sprintf(" %.2f", rs["walferry", op, j] / rs["pgbackrest", op, j])
          printf "ratio walferry/pgBackRest, %s segments/s: %.2f [per round:%s] (target >= 1.5: %s)\n", op, r, per, (r >= 1.5 ? "met" : "NOT met") } }
      if (wrss > 0) printf "walferry peak RSS: %.1f MiB (target < 64: %s)\n", wrss, (wrss < 64 ? "met" : "NOT met") }' "$OUT/summary.csv"
  echo
  echo "reference (what bounds a call):"
  sed 's/^/  /' "$REF"
} | tee "$OUT/table.txt"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "tree: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (modified)')"
  echo "walferry: $([ -x "$WF" ] && "$WF" --version 2>&1 | head -n1)"
  echo "pgbackrest: $(pgbackrest version 2>&1)"
  echo "postgresql: $("$PGBIN/postgres" --version)"
  echo "zstd: $(zstd --version)"
  echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  echo "load: $(cat /proc/loadavg)"
  echo "corpus: $SEGMENTS segments, $CORPUS_BYTES bytes, system identifier $PG_SYSID, pgbench scale $SCALE"
  echo "prefix: $PREFIX"
} >"$OUT/env.txt"
say "results in $OUT/"
[ "$FAILED" -eq 0 ] || die "some calls failed or some restored segments differ (see above)"
