#!/usr/bin/env bash
# run-storage.sh — walferry's storage benchmark, side by side with curl, in one run.
#
#   bench/run-storage.sh            (from any directory; ~2 minutes on 2 cores)
#
# 1. builds walferry_storage_bench (cmake, RelWithDebInfo, into build-bench/),
# 2. uses the S3 server named by WALFERRY_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY and
#    _SECRET_KEY (http, path-style, us-east-1) when all four are set; when none is set it
#    starts the project's test server (scripts/s3-server/start.sh) in a new temporary
#    directory on 127.0.0.1:WALFERRY_BENCH_S3_PORT (default 17000, also uses PORT+1..+9)
#    and stops it again (by pid, scripts/s3-server/stop.sh) on any exit,
# 3. for each object size (16 MiB, 1.5 MiB) and thread count (1, 4), in this order:
#      walferry PUT   its s3:// backend, Google Benchmark case s3_put (JSON kept)
#      curl PUT       THREADS curl processes at once, each moving its N objects one after
#                     the other over one kept-alive connection, x-amz-content-sha256:
#                     UNSIGNED-PAYLOAD (curl's way: no digest of the body)
#      curl-signed    the same, with the payload's SHA-256 signed and Content-MD5 sent, as
#                     walferry sends them, so the server verifies both (the digests are
#                     computed once, before timing)
#      walferry GET   s3_get, of the objects walferry's PUT wrote
#      curl GET       of the objects curl's unsigned PUT wrote
#    (WALFERRY_BENCH_ROUNDS times; each round's objects are deleted after it),
# 4. runs the file:// backend and the digest micro-benchmarks for reference,
# 5. prints the comparison table (MiB/s and objects/s, walferry/curl ratio), also written
#    with the raw numbers to the results directory, and deletes the objects it wrote.
#
# Times: like Google Benchmark with threads, a case's time is the mean over its threads
# (curl processes) of each one's own time moving its N objects (curl: the sum of its
# transfers' time_total); throughput is all bytes (objects) moved / that time.
#
# Environment (all optional):
#   WALFERRY_TEST_S3_*            the S3 server, as above (all four or none)
#   WALFERRY_BENCH_S3_PORT        port for the server started here (default 17000)
#   WALFERRY_BENCH_OBJECTS_LARGE  objects per thread of 16 MiB (default 10)
#   WALFERRY_BENCH_OBJECTS_SMALL  objects per thread of 1.5 MiB (default 40)
#   WALFERRY_BENCH_ROUNDS         rounds of all cases; the table shows medians (default 3)
#   WALFERRY_BENCH_BUILD_DIR      build directory (default build-bench/)
#   WALFERRY_BENCH_OUT            results directory (default BUILD_DIR/bench-results/)
# Exit 0 only if every transfer succeeded; non-zero with a message otherwise.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WALFERRY_BENCH_BUILD_DIR:-$ROOT/build-bench}
OUT=${WALFERRY_BENCH_OUT:-$BUILD/bench-results}
PORT=${WALFERRY_BENCH_S3_PORT:-17000}
N_LARGE=${WALFERRY_BENCH_OBJECTS_LARGE:-10}
N_SMALL=${WALFERRY_BENCH_OBJECTS_SMALL:-40}
ROUNDS=${WALFERRY_BENCH_ROUNDS:-3}
S3_SCRIPTS=$ROOT/scripts/s3-server
BIN=$BUILD/bench/walferry_storage_bench
say() { echo "run-storage.sh: $*" >&2; }
die() { say "$*"; exit 1; }
for v in N_LARGE N_SMALL ROUNDS PORT; do
  [[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || die "$v must be a positive number, not '${!v}'"
done
command -v curl >/dev/null || die "curl is not installed"
set_count=0
for v in WALFERRY_TEST_S3_ENDPOINT WALFERRY_TEST_S3_BUCKET WALFERRY_TEST_S3_ACCESS_KEY WALFERRY_TEST_S3_SECRET_KEY; do
  [ -n "${!v:-}" ] && set_count=$((set_count + 1))
done
[ "$set_count" -eq 0 ] || [ "$set_count" -eq 4 ] ||
  die "set all four of WALFERRY_TEST_S3_ENDPOINT, _BUCKET, _ACCESS_KEY, _SECRET_KEY, or none (to start a server)"

TMP="" S3_DIR="" RUN_PREFIX="" PIDS=() STARTED=$SECONDS
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done   # our curl processes, if any
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$RUN_PREFIX" ] && [ -z "$S3_DIR" ]; then   # a failed run on someone's server: tidy up
    WALFERRY_BENCH_PREFIX=$RUN_PREFIX "$BIN" --cleanup 2>/dev/null
  fi
  if [ -n "$S3_DIR" ]; then
    [ "$rc" -eq 0 ] || { say "S3 server log, last lines:"; tail -n 5 "$S3_DIR/log/client.rgw.a.log" >&2 2>/dev/null; }
    "$S3_SCRIPTS/stop.sh" "$S3_DIR"
  fi
  [ -n "$TMP" ] && rm -rf "$TMP"
  if [ "$rc" -eq 0 ]; then say "done in $((SECONDS - STARTED)) s"; else say "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TMP=$(mktemp -d "${TMPDIR:-/tmp}/walferry-bench.XXXXXX")

# ---- 1. build ----------------------------------------------------------------------------
say "building walferry_storage_bench in $BUILD"
# RelWithDebInfo (-O2 -g), the project's default build type: symbols for perf. Never under
# sanitizers.
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALFERRY_BUILD_BENCH=ON \
         -DWALFERRY_BUILD_TESTS=OFF -DWALFERRY_SANITIZE= &&
       cmake --build "$BUILD" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" --target walferry_storage_bench
     } >"$TMP/cmake.log" 2>&1; then
  tail -n 30 "$TMP/cmake.log" >&2
  die "build failed"
fi

# ---- 2. the S3 server ----------------------------------------------------------------------
if [ "$set_count" -eq 0 ]; then
  [ -x "$S3_SCRIPTS/start.sh" ] || die "no WALFERRY_TEST_S3_* set and no $S3_SCRIPTS/start.sh to start a server"
  S3_DIR=$TMP/s3
  say "starting the test S3 server on 127.0.0.1:$PORT (ports $PORT..$((PORT + 9)))"
  WALFERRY_TEST_S3_ENDPOINT=$("$S3_SCRIPTS/start.sh" "$S3_DIR" "$PORT") || die "the S3 server did not start"
  export WALFERRY_TEST_S3_ENDPOINT WALFERRY_TEST_S3_BUCKET=walferry-test \
    WALFERRY_TEST_S3_ACCESS_KEY=walferry WALFERRY_TEST_S3_SECRET_KEY=walferry-secret
fi
ENDPOINT=${WALFERRY_TEST_S3_ENDPOINT%/} BUCKET=$WALFERRY_TEST_S3_BUCKET
RUN_PREFIX="walferry-bench/$(date -u +%Y%m%dT%H%M%SZ)-$$"
say "server $ENDPOINT, bucket $BUCKET, keys under $RUN_PREFIX/"
rm -rf "$OUT" && mkdir -p "$OUT"

# ---- 3. walferry and curl, case by case ------------------------------------------------------
# Object bodies for curl: random, the same sizes as walferry's; digests computed once.
head -c $((16 << 20)) /dev/urandom >"$TMP/obj-16MiB"
head -c $((3 << 19)) /dev/urandom >"$TMP/obj-1.5MiB"
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
echo "round,tool,op,size,threads,objects,seconds,MiB_per_s,objects_per_s" >"$OUT/results.csv"

# record TOOL OP SIZE THREADS OBJECTS SECONDS BYTES_PER_OBJECT — one row of results.csv
record() {
  awk -v r="$round" -v t="$1" -v o="$2" -v s="$3" -v th="$4" -v n="$5" -v sec="$6" -v bytes="$7" 'BEGIN {
    printf "%d,%s,%s,%s,%d,%d,%.4f,%.1f,%.2f\n", r, t, o, s, th, n, sec, n * bytes / sec / 1048576, n / sec }' \
    >>"$OUT/results.csv"
}

# curl_case MODE OP SIZE THREADS N — THREADS curl processes at once, N objects each.
# MODE: unsigned | signed (PUT), plain (GET, of what the unsigned PUTs wrote).
# curl 7.88 always sends "Expect: 100-continue" on these PUTs: removing the header with
# -H "Expect:" breaks its SigV4 signature (it still signs an empty expect header).
curl_case() {
  local mode=$1 op=$2 size=$3 threads=$4 n=$5 t i p file=$TMP/obj-$3 bytes hdr=() tool=curl-$1
  bytes=$(stat -c %s "$file")
  local base="$ENDPOINT/$BUCKET/$WALFERRY_BENCH_PREFIX/curl-$mode/put/$size/x$threads"
  case $mode in
    unsigned) hdr=(-H "x-amz-content-sha256: UNSIGNED-PAYLOAD") ;;
    signed) hdr=(-H "x-amz-content-sha256: $(sha256sum "$file" | cut -c1-64)"
                 -H "Content-MD5: $(openssl dgst -md5 -binary "$file" | base64)") ;;
    plain) hdr=(-H "x-amz-content-sha256: $EMPTY_SHA") tool=curl
           base="$ENDPOINT/$BUCKET/$WALFERRY_BENCH_PREFIX/curl-unsigned/put/$size/x$threads" ;;
  esac
  for ((t = 0; t < threads; t++)); do
    for ((i = 0; i < n; i++)); do
      printf 'url = "%s/t%d/%05d"\n' "$base" "$t" "$i"
      [ "$op" = get ] || printf 'upload-file = "%s"\n' "$file"
      printf 'output = "/dev/null"\n'
    done >"$TMP/curl-$t.cfg"
  done
  PIDS=()
  for ((t = 0; t < threads; t++)); do
    curl -sS --fail-with-body --fail-early --max-time 120 --aws-sigv4 "aws:amz:us-east-1:s3" \
      --user "$WALFERRY_TEST_S3_ACCESS_KEY:$WALFERRY_TEST_S3_SECRET_KEY" "${hdr[@]}" \
      -w '%{http_code} %{size_upload} %{size_download} %{time_total}\n' \
      --config "$TMP/curl-$t.cfg" >"$TMP/curl-$t.out" 2>"$TMP/curl-$t.err" &
    PIDS+=($!)
  done
  local rc=0 secs
  for p in "${PIDS[@]}"; do wait "$p" || rc=1; done
  PIDS=()
  # every transfer 200 with the whole body; a process's time = the sum of its transfers'
  secs=$(for ((t = 0; t < threads; t++)); do cat "$TMP/curl-$t.out"; echo "END"; done |
    awk -v op="$op" -v bytes="$bytes" -v n="$n" -v th="$threads" '
      $1 == "END" { if (cnt != n) bad = 1; total += sum; sum = 0; cnt = 0; next }
      { moved = op == "put" ? $2 : $3
        if ($1 != 200 || moved != bytes) bad = 1
        sum += $4; cnt++ }
      END { if (bad) exit 1; printf "%.6f\n", total / th }') || rc=1
  if [ "$rc" -ne 0 ]; then
    for ((t = 0; t < threads; t++)); do cat "$TMP/curl-$t.err" >&2; tail -n 3 "$TMP/curl-$t.out" >&2; done
    die "curl $mode $op $size x$threads failed"
  fi
  printf '%-52s %8.1f MiB/s %8.2f objects/s\n' "$tool $op/$size x$threads" \
    "$(awk -v n=$((n * threads)) -v b="$bytes" -v s="$secs" 'BEGIN { print n * b / s / 1048576 }')" \
    "$(awk -v n=$((n * threads)) -v s="$secs" 'BEGIN { print n / s }')" >&2
  record "$tool" "$op" "$size" "$threads" $((n * threads)) "$secs" "$bytes"
}

# walferry_case OP SIZE THREADS N — the Google Benchmark case s3_OP/SIZE with THREADS threads.
walferry_case() {
  local op=$1 size=$2 threads=$3 n=$4 flag json=$OUT/walferry-r$round-$1-$2-x$3.json
  [ "$size" = 16MiB ] && flag=--objects-large=$n || flag=--objects-small=$n
  "$BIN" "$flag" --keep --benchmark_filter="^s3_$op/${size//./\\.}/.*threads:$threads\$" \
    --benchmark_out="$json" --benchmark_out_format=json 2>"$TMP/bench.err" |
    grep -E '^s3_' >&2 || { cat "$TMP/bench.err" >&2; die "walferry_storage_bench failed ($op $size x$threads)"; }
  # Google Benchmark's JSON has one "key": value per line; its rates are over all threads.
  awk -v r="$round" -v op="$op" -v size="$size" -v th="$threads" '
    /"iterations":/ { gsub(/[ ,]/, "", $2); it = $2 }
    /"bytes_per_second":/ { gsub(/,/, "", $2); bps = $2 }
    /"items_per_second":/ { gsub(/,/, "", $2); ips = $2
      printf "%d,walferry,%s,%s,%d,%d,%.4f,%.1f,%.2f\n", r, op, size, th, it, it / ips, bps / 1048576, ips }
  ' "$json" >>"$OUT/results.csv"
}

# One round: per size and thread count, PUTs (walferry, curl, curl signed) then GETs
# (walferry, curl), so that each tool reads objects written a few seconds before.
for ((round = 1; round <= ROUNDS; round++)); do
  export WALFERRY_BENCH_PREFIX=$RUN_PREFIX/r$round
  for size in 16MiB 1.5MiB; do
    [ "$size" = 16MiB ] && n=$N_LARGE || n=$N_SMALL
    for threads in 1 4; do
      say "round $round/$ROUNDS: $size objects, $threads thread(s) x $n objects"
      walferry_case put "$size" "$threads" "$n"
      curl_case unsigned put "$size" "$threads" "$n"
      curl_case signed put "$size" "$threads" "$n"
      walferry_case get "$size" "$threads" "$n"
      curl_case plain get "$size" "$threads" "$n"
    done
  done
  "$BIN" --cleanup 2>/dev/null || die "could not delete $WALFERRY_BENCH_PREFIX/ from the bucket"
done
RUN_PREFIX=""  # all deleted

# ---- 4. reference: file:// backend and the CPU cost of digests -------------------------------
say "reference: file:// backend in $TMP, digest and copy speed"
WALFERRY_BENCH_FILE_DIR=$TMP "$BIN" --objects-large=8 --objects-small=32 --benchmark_min_time=0.3 \
  --benchmark_filter='^(file|cpu)_' --benchmark_out="$OUT/reference.json" \
  --benchmark_out_format=json >"$OUT/reference.txt" 2>"$TMP/bench.err" ||
  { cat "$TMP/bench.err" >&2; die "reference benchmarks failed"; }

# ---- 5. the table ----------------------------------------------------------------------------
{
  echo "walferry vs curl: $ENDPOINT, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "MiB/s (objects/s), median of $ROUNDS round(s); ratio = walferry / curl."
  echo "curl: x-amz-content-sha256: UNSIGNED-PAYLOAD, no Content-MD5 (GET: plain signed GET)."
  echo "curl-signed: payload SHA-256 signed + Content-MD5, as walferry sends (digests precomputed, untimed)."
  awk -F, '
    function median(list,   v, n, i, j, x) {
      n = split(substr(list, 2), v, " ")
      for (i = 2; i <= n; i++) { x = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    NR > 1 { t = $2 == "curl-unsigned" ? "curl" : $2; k = $3 " " $4 " " $5
             mibs[t, k] = mibs[t, k] " " $8; opss[t, k] = opss[t, k] " " $9
             if (!(k in seen)) { seen[k] = 1; order[++nk] = k } }
    function cell(t, k) { return (t SUBSEP k) in mibs ? sprintf("%7.1f (%6.1f)", median(mibs[t, k]), median(opss[t, k])) : sprintf("%16s", "-") }
    function ratio(t, k) { return (t SUBSEP k) in mibs ? sprintf("%5.2f", median(mibs["walferry", k]) / median(mibs[t, k])) : "    -" }
    END {
      printf "%-4s %-7s %3s | %-16s | %-16s %5s | %-16s %5s\n", "op", "size", "thr", "walferry", "curl", "ratio", "curl-signed", "ratio"
      for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, " ")
        printf "%-4s %-7s %3s | %s | %s %s | %s %s\n", f[1], f[2], f[3], cell("walferry", k), cell("curl", k), ratio("curl", k), cell("curl-signed", k), ratio("curl-signed", k)
      }
    }' "$OUT/results.csv"
  echo
  echo "reference: file:// backend ($(df -PT "$TMP" | awk 'NR == 2 { print $2 }') under ${TMP%/*}, fsync on Put); CPU cost of an s3 Put's digests:"
  grep -E '^(file|cpu)_' "$OUT/reference.txt"
} | tee "$OUT/table.txt"
say "results in $OUT/: table.txt, results.csv, walferry-*.json, reference.txt/json"
