# shellcheck shell=bash
# Faults between walferry and radosgw (issue 10, item 3): walferry's s3-endpoint is the fault
# proxy (tests/support/fault_proxy.cc, target walferry_fault_proxy), which forwards to
# radosgw's plain-HTTP port (WALFERRY_TEST_S3_ENDPOINT) and injects, on about a quarter of
# the requests: latency, stalls, connection resets before / during / after a request or a
# response body, truncated response bodies, bursts of 500 / 503 / SlowDown, under a bandwidth
# limit. Every scenario ends in an exact point-in-time recovery whose WAL is read through the
# proxy, with no false exit 0 (every file PostgreSQL marked .done is in the repository and
# intact) and no early end of recovery:
#   proxy_spool     a pgbench burst archived through the spool (upload worker behind the proxy)
#   proxy_prefetch  archive recovery through the prefetch spool; archive-get in archive recovery
#                   exits 200 (never 1) when every attempt meets a fault
#   proxy_backup    backup-push (multipart uploads) and backup-fetch through the proxy
# The proxy binary: WALFERRY_FAULT_PROXY (ctest sets it), else build/tests/walferry_fault_proxy.
# WALFERRY_E2E_PROXY_SEED changes the faults' seed (trials for RELIABILITY.md).

PROXY_PID=""
PROXY_PORT=""
PROXY_LOG=""
DIRECT_CONF=""
# retries that converge through ~30 % faulty requests: 12 attempts with backoff (0.1 s doubling,
# capped at 5 s, full jitter); a stall (at most 2 s) stays far below s3-stall-timeout
PROXY_RETRY_LINES=("s3-max-attempts = 12" "s3-retry-seconds = 90" "s3-stall-timeout = 15")
# the mix: per request at most one fault; about 27 % of requests draw one, error bursts add
# two more errors each
PROXY_FAULTS=(
  "latency=0.05"
  "stall=0.03"
  "reset-before-request=0.03"
  "reset-after-request=0.3,method=POST,query=uploadId=*"
  "reset-during-request=0.06,method=PUT"
  "reset-during-request=0.04,method=POST"
  "reset-after-request=0.06,method=PUT"
  "reset-after-request=0.04"
  "reset-during-response=0.04,method=GET"
  "truncate-response=0.04,method=GET"
  "error-500=0.015,burst=3"
  "error-503=0.015,burst=3"
  "slowdown=0.015,burst=3"
)

proxy_bin() {
  local b=${WALFERRY_FAULT_PROXY:-$SRC_ROOT/build/tests/walferry_fault_proxy}
  [ -x "$b" ] || fail "fault proxy '$b' not executable (build the target walferry_fault_proxy; WALFERRY_FAULT_PROXY names it)"
  echo "$b"
}

# start_proxy NAME SEED FAULT... : a fault proxy in front of radosgw's plain-HTTP port; sets
# PROXY_PID, PROXY_PORT, PROXY_LOG ($T/NAME.log). It exits by itself after the test's budget.
start_proxy() {
  local name=$1 seed=$2 bin args=() f
  shift 2
  [ -n "${WALFERRY_TEST_S3_ENDPOINT:-}" ] || fail "WALFERRY_TEST_S3_ENDPOINT unset (radosgw's plain-HTTP endpoint)"
  bin=$(proxy_bin)
  for f in "$@"; do args+=(--fault "$f"); done
  PROXY_LOG=$T/$name.log
  rm -f "$T/$name.port"
  "$bin" --upstream "$WALFERRY_TEST_S3_ENDPOINT" --port 0 --port-file "$T/$name.port" --log "$PROXY_LOG" --request-log "$T/$name-requests.log" \
    --seed "$seed" --max-seconds $((${WALFERRY_E2E_BUDGET:-200} + 30)) --max-connections 64 \
    ${PROXY_BANDWIDTH:+--bandwidth "$PROXY_BANDWIDTH"} "${args[@]}" >"$T/$name.out" 2>&1 &
  PROXY_PID=$!
  BG_PIDS+=("$PROXY_PID")
  wait_until 10 "the fault proxy $name listens ($(cat "$T/$name.out" 2>/dev/null))" test -s "$T/$name.port"
  PROXY_PORT=$(cat "$T/$name.port")
  log "fault proxy $name on 127.0.0.1:$PROXY_PORT -> $WALFERRY_TEST_S3_ENDPOINT, seed $seed, ${#args[@]} fault options"
}

# stop_proxy : SIGTERM, wait for its summary line; prints the summary
stop_proxy() {
  local pid=$1 logf=$2
  kill -TERM "$pid" 2>/dev/null || true
  wait_until 10 "the fault proxy exits" proxy_exited "$pid"
  grep -q 'fault-proxy: summary: ' "$logf" || fail "the fault proxy printed no summary: $(tail -n 5 "$logf")"
  sed -n 's/^fault-proxy: summary: //p' "$logf" | tail -n 1
}
proxy_exited() { ! kill -0 "$1" 2>/dev/null; }

# proxied_conf FILE : FILE (a walferry.conf of write_walferry_conf) rewritten to reach the
# repository through the proxy on PROXY_PORT (plain HTTP); a copy going directly to the
# TLS front stays in DIRECT_CONF
proxied_conf() {
  local file=$1
  DIRECT_CONF=$T/direct.conf
  cp "$file" "$DIRECT_CONF"
  own "$DIRECT_CONF"
  sed -i -e "s|^s3-endpoint = .*|s3-endpoint = http://127.0.0.1:$PROXY_PORT|" -e '/^s3-ca-file = /d' "$file"
  grep -q "^s3-endpoint = http://127.0.0.1:$PROXY_PORT\$" "$file" || fail "no s3-endpoint line in $file"
}

# proxy_setup SEED_BASE [CONF LINE...] : the proxy with PROXY_FAULTS, the scenario's
# walferry.conf through it (retries of PROXY_RETRY_LINES, CONF LINEs), rare checkpoints
proxy_setup() {
  [ "$BACKEND" = s3 ] || fail "the proxy scenarios need the s3 backend"
  local seed=${WALFERRY_E2E_PROXY_SEED:-$1}
  shift
  PROXY_BANDWIDTH=${PROXY_BANDWIDTH:-48M}
  start_proxy proxy "$seed" "${PROXY_FAULTS[@]}"
  MAIN_PROXY_PID=$PROXY_PID MAIN_PROXY_LOG=$PROXY_LOG
  write_walferry_conf "$CONF" "${PROXY_RETRY_LINES[@]}" "$@"
  proxied_conf "$CONF"
  CLUSTER_EXTRA_SETTINGS=$SPOOL_PG_SETTINGS
}

# proxy_report : stops the main proxy and checks that it did inject faults on a large share of
# the requests, of many kinds; logs the figures (RELIABILITY.md quotes these lines)
proxy_report() {
  local s requests total kinds
  s=$(stop_proxy "$MAIN_PROXY_PID" "$MAIN_PROXY_LOG")
  log "fault proxy: $s"
  requests=$(sed -n 's/^\([0-9]*\) requests.*/\1/p' <<<"$s")
  total=$(sed -n 's/.* total=\([0-9]*\).*/\1/p' <<<"$s")
  kinds=$(grep -oE '[a-z0-9-]+=[1-9][0-9]*' <<<"${s#*faults:}" | grep -vc '^total=' || true)
  [ "${requests:-0}" -ge 50 ] || fail "only ${requests:-0} requests went through the fault proxy"
  [ $((total * 100)) -ge $((requests * 15)) ] || fail "faults on only $total of $requests requests (< 15 %)"
  [ "$kinds" -ge 6 ] || fail "only $kinds kinds of fault injected: $s"
  expect_eq "one log line per injected fault" "$(grep -cE '^fault-proxy: request [0-9]+ conn [0-9]+ ' "$MAIN_PROXY_LOG")" "$total"
  ok "the proxy injected $total faults of $kinds kinds in $requests requests ($((total * 100 / requests)) %)"
  if [ -n "${WALFERRY_E2E_PROXY_REPORT:-}" ]; then
    printf '%s seed=%s %s\n' "$TEST_NAME" "${WALFERRY_E2E_PROXY_SEED:-default}" "$s" >>"$WALFERRY_E2E_PROXY_REPORT"
  fi
}

# no_crash NAME... : no walferry process PostgreSQL ran died of a signal; no abort in any log
no_crash() {
  local n
  for n in "$@"; do
    expect_no_match "$n: no archive/restore command terminated by a signal" "$(log_of "$n")" \
      'command was terminated by signal|terminate called|Assertion .* failed|AddressSanitizer'
  done
}

# acked_put_resets_checked NAME : each WAL PUT that radosgw stored but whose answer the proxy
# cut off (reset-after-request, upstream 200) was retried by archive-push, which found the
# object with identical content: exit 0 with a warning, never a second, different object
acked_put_resets_checked() { # NAME [PROXY_LOG]
  local seg n=0 plog=${2:-$MAIN_PROXY_LOG}
  for seg in $(sed -n 's|.* PUT [^ ]*/wal/[0-9A-F]\{16\}/\([0-9A-F]\{24\}\): reset-after-request (the upstream answered 200).*|\1|p' "$plog" | sort -u); do
    expect_match "$seg: stored, answer lost, retried: archive-push found it with identical content" "$(log_of "$1")" \
      "WARNING: archive-push: 'pg_wal/$seg' was already archived in .* with identical content"
    n=$((n + 1))
  done
  log "$n WAL PUTs stored by radosgw whose answer was lost (reset after the request)"
}

# ---------------------------------------------------------------- proxy_spool
# the burst is written while archiving is held back (as in spool_burst), then the spool
# clears the backlog through the proxy: the worker's parallel uploads meet the faults
proxy_spool_hook() {
  local name=$1 last segs t0
  archive_command_set "$name" ''
  wal_burst "$name" 480
  last=$(switch_wal "$name")
  segs=$(ready_count "$name")
  [ "$segs" -ge 20 ] || fail "the burst left only $segs .ready files"
  sql "$name" 'ALTER SYSTEM RESET archive_command' >/dev/null
  sql "$name" 'SELECT pg_reload_conf()' >/dev/null
  t0=$SECONDS
  wait_archived "$name" "$last" 150
  log "$segs segments of the burst archived through the spool and the proxy $((SECONDS - t0)) s after archive_command was restored (the worker runs ahead of it)"
}

scenario_proxy_spool() {
  SPOOL_DIR=$T/spool
  mkdir -p "$SPOOL_DIR"
  own "$SPOOL_DIR"
  proxy_setup 101 "spool-path = $SPOOL_DIR" "parallel = 4" "archive-timeout = 60"
  PITR_HOOK=proxy_spool_hook PITR_FAILURES_EXPECTED=1
  pitr_setup
  wait_until 60 "the spool has nothing pending" pending_at_most P 0
  # no false exit 0: each file PostgreSQL was told is archived, fetched through the proxy
  # (faults on) in archive recovery, verified and compared with pg_wal's copy
  check_done_in_repository P
  pitr_verify
  expect_no_match "the upload worker logged no crash" "$(spool_worker_log)" 'terminate called|Aborted|Segmentation'
  no_crash P R
  log "PostgreSQL: $(sql P 'SELECT archived_count, failed_count FROM pg_stat_archiver') archived/failed archive_command calls"
  proxy_report
}

# ---------------------------------------------------------------- proxy_prefetch
# archive-get in archive recovery, every attempt meeting fault KIND: exit 200, nothing written
always_failing_get() {
  local kind=$1 seg=$2 d conf pid logf
  start_proxy "always-$kind" 1 "$kind=1${3:-}"
  pid=$PROXY_PID logf=$PROXY_LOG
  conf=$T/always-$kind.conf
  cp "$DIRECT_CONF" "$conf"
  sed -i -e "s|^s3-endpoint = .*|s3-endpoint = http://127.0.0.1:$PROXY_PORT|" -e '/^s3-ca-file = /d' \
    -e '/^s3-max-attempts = /d' -e '/^s3-retry-seconds = /d' "$conf"
  printf 's3-max-attempts = 3\ns3-retry-seconds = 5\n' >>"$conf"
  own "$conf"
  d=$(scratch "always-$kind")
  as_pg touch "$d/recovery.signal"
  local main_conf=$CONF
  CONF=$conf
  wf --cwd "$d" archive-get "$seg" pg_wal/RECOVERYXLOG
  CONF=$main_conf
  expect_eq "archive-get in archive recovery, $kind on every attempt: exit 200 (never 1: no early end of recovery)" "$WF_RC" 200
  expect_no_file "... nothing written at %p" "$d/pg_wal/RECOVERYXLOG"
  expect_eq "... no temporary file left" "$(find "$d/pg_wal" -type f | wc -l)" 0
  stop_proxy "$pid" "$logf" >/dev/null
}

scenario_proxy_prefetch() {
  proxy_setup 202
  PITR_FAILURES_EXPECTED=1
  pitr_setup 16
  local conf
  conf=$(prefetch_conf R 4)
  recover_from_backup R "recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
restore_command = '$BIN --config $conf archive-get %f %p'"
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  local rlog served direct getdir
  rlog=$(log_of R)
  expect_match "recovery stopped at the target time" "$rlog" 'recovery stopping before commit of transaction [0-9]+, time '
  expect_no_match "no restore_command failure, no early end of recovery" "$rlog" \
    'could not restore|FATAL|recovery ended before|walferry\[[0-9]+\]: ERROR'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  expect_eq "R was promoted to timeline 2" "$(sql R 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000002
  served=$(grep -c "restored '[0-9A-F]\{24\}' to 'pg_wal/RECOVERYXLOG' from the prefetch spool" <<<"$rlog" || true)
  direct=$(grep -c "restored '[0-9A-F]\{24\}' to 'pg_wal/RECOVERYXLOG' (" <<<"$rlog" || true)
  log "archive-get served $served segments from the prefetch spool, fetched $direct directly, through the proxy"
  [ "$served" -ge 5 ] || fail "only $served segments served from the prefetch spool"
  getdir=$(prefetch_get_dir R) || fail "no spool directory for the repository in $T/R-spool"
  expect_match "the worker logged its downloads" "$(cat "$getdir/worker.log")" 'prefetched [0-9A-F]{24} '
  expect_no_match "the worker logged no crash" "$(cat "$getdir/worker.log")" 'terminate called|Aborted|Segmentation'
  prefetch_wait_clean "$getdir"
  check_done_in_repository P
  no_crash P R
  acked_put_resets_checked P
  log "PostgreSQL: $(sql P 'SELECT archived_count, failed_count FROM pg_stat_archiver') archived/failed archive_command calls"
  proxy_report
  # every attempt failing, one fault kind at a time: exit 200 in archive recovery, never 1
  local seg
  seg=$(done_names P | grep -E '^[0-9A-F]{24}$' | head -n 1)
  always_failing_get error-500 "$seg" ",burst=1"
  always_failing_get error-503 "$seg" ",burst=1"
  always_failing_get slowdown "$seg" ",burst=1"
  always_failing_get reset-before-request "$seg"
  always_failing_get reset-after-request "$seg"
  always_failing_get reset-during-response "$seg"
  always_failing_get truncate-response "$seg"
}

# ---------------------------------------------------------------- proxy_backup
scenario_proxy_backup() {
  # small parts: the base backup's objects go up in multipart uploads (parts, complete, HEAD)
  proxy_setup 303 "s3-multipart-threshold = 5MiB" "s3-part-size = 5MiB"
  E2E_INITDB_ARGS=--data-checksums init_cluster P
  start_cluster P
  setup_schema P
  # 32 MiB that do not compress: data objects above s3-multipart-threshold
  sql P "CREATE TABLE blob AS SELECT g, decode(string_agg(md5(g || ':' || i || ':' || random()), '' ORDER BY i), 'hex') AS b
         FROM generate_series(1, 32000) g, generate_series(1, 64) i GROUP BY g"
  local blob_sum
  blob_sum=$(sql P "SELECT count(*) || ' ' || md5(string_agg(b, '' ORDER BY g)) FROM blob")
  (load P 6 during-backup) &
  local loader=$!
  BG_PIDS+=("$loader")
  sleep 1
  push_backup P --parallel 3
  wait "$loader" || fail "load during the backup failed"
  expect_no_match "no corrupt page reported" "$WF_OUT$WF_ERR" 'CORRUPT|checksum mismatch'
  expect_match "the backup is listed" "$(list_json '.backups[-1].name')" "^$BACKUP_NAME\$"
  wf archive-get "$(backup_json stop_wal)" "$T/stop.seg"
  expect_eq "the stop segment was in the repository when backup-push returned" "$WF_RC" 0
  wf --cwd "$(datadir P)" verify
  expect_eq "walferry verify (through the proxy) finds the backup and its WAL intact" "$WF_RC" 0
  load P 3 before-target
  sleep 0.2
  TARGET=$(sql P 'SELECT clock_timestamp()')
  SUM_T=$(checksum P)
  MARKERS_T=$(markers P)
  sleep 0.2
  load P 3 after-target
  expect_ne "pgbench tables changed after the target" "$(checksum P)" "$SUM_T"
  LAST_SEG=$(switch_wal P)
  wait_archived P "$LAST_SEG" 120
  restore_cluster LATEST R --target-time "$TARGET" --target-action promote --parallel 3
  expect_eq "restored pg_wal holds no WAL" "$(ls "$(datadir R)/pg_wal")" archive_status
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  local rlog
  rlog=$(log_of R)
  expect_match "recovery stopped at the target time" "$rlog" 'recovery stopping before commit of transaction [0-9]+, time '
  expect_match "WAL was read through restore_command" "$rlog" 'restored log file "[0-9A-F]{24}" from archive'
  expect_no_match "no restore_command failure, no early end of recovery" "$rlog" 'could not restore|FATAL|recovery ended before'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  expect_eq "R was promoted to timeline 2" "$(sql R 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000002
  expect_eq "the incompressible table is intact" "$(sql R "SELECT count(*) || ' ' || md5(string_agg(b, '' ORDER BY g)) FROM blob")" "$blob_sum"
  check_done_in_repository P
  no_crash P R
  acked_put_resets_checked P
  proxy_report
  local parts faulted
  parts=$(grep -c ' PUT [^ ]*?partNumber=' "$T/proxy-requests.log" || true)
  faulted=$(grep -E ' (PUT|POST) [^ ]*[?&]upload(Id|s)=' "$T/proxy-requests.log" | grep -vc ' -$' || true)
  [ "$parts" -ge 8 ] || fail "only $parts multipart upload parts went through the proxy"
  ok "$parts parts of multipart uploads went through the proxy, $faulted multipart requests met a fault"
}

# ---------------------------------------------------------------- proxy_lost_answers
# One write-once PUT whose answer is lost (the proxy resets the connection once radosgw has
# stored the object; limit=1: the retry goes through): the object is there, so the command
# must succeed, and what it leaves must be usable. repo-create's walferry.repo, a WAL segment,
# a backup's manifest.json.
# lost_answer_proxy NAME GLOB : a proxy that loses the answer of the first PUT of a key matching
# GLOB; CONF goes through it
lost_answer_proxy() {
  start_proxy "$1" 1 "reset-after-request=1,method=PUT,key=$2,limit=1"
  write_walferry_conf "$CONF" "${PROXY_RETRY_LINES[@]}"
  proxied_conf "$CONF"
}
lost_answer_injected() { # NAME : the proxy lost one answer of a stored object
  stop_proxy "$PROXY_PID" "$PROXY_LOG" >/dev/null
  expect_match "$1: radosgw stored the object and the proxy lost its answer" "$(cat "$PROXY_LOG")" \
    'PUT [^ ]*: reset-after-request \(the upstream answered 200\)'
}

scenario_proxy_lost_answers() {
  [ "$BACKEND" = s3 ] || fail "the proxy scenarios need the s3 backend"
  CLUSTER_EXTRA_SETTINGS=$SPOOL_PG_SETTINGS
  lost_answer_proxy lost-repo '*/walferry.repo'
  init_cluster P
  lost_answer_injected "repo-create"
  lost_answer_proxy lost-wal '*/wal/*/[0-9A-F]*'
  start_cluster P
  setup_schema P
  wait_archived P "$(switch_wal P)" 60
  lost_answer_injected "archive-push"
  acked_put_resets_checked P "$PROXY_LOG"
  lost_answer_proxy lost-manifest '*/backup/*/manifest.json'
  wf backup-push --fast --pg-conninfo "host=$T/P port=${PORT[P]} dbname=postgres"
  local rc=$WF_RC err=$WF_ERR listed vrc verr
  lost_answer_injected "backup-push"
  cp "$DIRECT_CONF" "$CONF" # from here on straight to radosgw's TLS front
  wf backup-list --json
  listed=$(jq -r '.backups | length' <<<"$WF_OUT")
  wf verify
  vrc=$WF_RC verr=$WF_ERR
  log "backup-push exited $rc; backup-list lists $listed backups; verify exited $vrc"
  expect_eq "backup-push whose manifest radosgw stored but whose answer was lost exits 0, the backup exists [stderr: $err]" "$rc" 0
  expect_eq "the backup is listed" "$listed" 1
  expect_eq "verify finds every object of the listed backup [$(tail -n 2 <<<"$verr")]" "$vrc" 0
  sql P "INSERT INTO pgbench_history SELECT * FROM pgbench_history LIMIT 0" >/dev/null
  wait_archived P "$(switch_wal P)" 60
  restore_cluster LATEST R
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_eq "R has P's pgbench tables" "$(checksum R)" "$(checksum P)"
}
