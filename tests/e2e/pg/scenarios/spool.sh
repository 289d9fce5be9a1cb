# shellcheck shell=bash
# The spool (spool-path): archive-push runs ahead of PostgreSQL through the upload worker.
# Each scenario is pitr.sh's setup (base backup, load, exact target, more load) with its own
# load between the base backup and the target (PITR_HOOK), then an exact point-in-time
# recovery from the repository (pitr_verify):
#   spool_burst   a pgbench burst of real 16 MiB segments becomes a backlog of .ready files;
#                 the worker runs ahead (archive-push answers from its confirmations) and
#                 clears it faster than synchronous archive-push calls would
#   spool_kill9   SIGKILL of this test's walferry processes (workers and archive-push calls)
#                 at random moments during WAL generation, WALFERRY_E2E_KILL9_TRIALS times
#                 (default 50): every segment PostgreSQL marked .done is in the repository,
#                 intact
#   spool_outage  radosgw stopped mid-burst: clear errors in PostgreSQL's log, the backlog and
#                 the last error in `walferry status --json`, then catch-up with nothing lost
#   spool_full    archive-durability = spool on a 4 MiB tmpfs while the repository is down:
#                 staged copies fill it, then clear errors and no false success; everything
#                 archived once the repository is back

SPOOL_DIR=""
SPOOL_MOUNT=""
# pg_wal keeps every segment (no recycling before the checks), checkpoints are rare
SPOOL_PG_SETTINGS="max_wal_size = 4GB
min_wal_size = 4GB"

# spool_conf EXTRA_LINE... : the scenario's walferry.conf with a spool in SPOOL_DIR
spool_conf() {
  SPOOL_DIR=${SPOOL_DIR:-$T/spool}
  mkdir -p "$SPOOL_DIR"
  own "$SPOOL_DIR"
  write_walferry_conf "$CONF" "spool-path = $SPOOL_DIR" "parallel = 4" "spool-backlog-warn = 3" "$@"
  CLUSTER_EXTRA_SETTINGS=$SPOOL_PG_SETTINGS
}

# wal_burst NAME MIB : a pgbench burst, 2 clients, of at least MIB MiB of WAL (rows of 1888
# characters, each transaction about 3.7 MiB)
wal_burst() {
  local name=$1 tx=$((($2 + 3) / 4))
  sql "$name" "CREATE TABLE IF NOT EXISTS burst (id bigserial, pad text)" >/dev/null
  [ -e "$T/burst.sql" ] || {
    echo "INSERT INTO burst (pad) SELECT repeat(md5(g::text || random()::text), 59) FROM generate_series(1, 2000) g;" >"$T/burst.sql"
    own "$T/burst.sql"
  }
  as_pg pgbench -n -c 2 -j 2 -t "$((tx / 2 + 1))" -f "$T/burst.sql" -h "$T/$name" -p "${PORT[$name]}" postgres \
    >"$T/$name/pgbench-burst.log" 2>&1 || fail "pgbench burst on $name failed: $(tail -n 5 "$T/$name/pgbench-burst.log")"
}

no_own_walferry() { [ -z "$(own_walferry_pids)" ]; }
no_ready() { [ "$(ready_count "$1")" -eq 0 ]; }
ready_count() { find "$(datadir "$1")/pg_wal/archive_status" -name '*.ready' | wc -l; }
done_names() { find "$(datadir "$1")/pg_wal/archive_status" -name '*.done' -printf '%f\n' | sed 's/\.done$//' | sort; }

# wal_generator NAME SECONDS : one segment of WAL after another for at most SECONDS, or until
# $T/generator.stop exists
start_wal_generator() {
  rm -f "$T/generator.stop"
  (
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ] && [ ! -e "$T/generator.stop" ]; do
      wal_burst "$1" 16
      sleep 0.5
    done
  ) &
  GENERATOR=$!
  BG_PIDS+=("$GENERATOR")
}
stop_wal_generator() {
  touch "$T/generator.stop"
  wait "$GENERATOR" || fail "the WAL generator failed"
}

# status_json NAME : `walferry status --json` in the data directory of NAME
status_json() {
  wf --cwd "$(datadir "$1")" status --json
  [ "$WF_RC" -eq 0 ] || fail "walferry status --json exited $WF_RC: $WF_ERR"
  echo "$WF_OUT"
}
pending_at_least() { [ "$(jfield "$(status_json "$1")" .pending.segments)" -ge "$2" ]; }
pending_at_most() { [ "$(jfield "$(status_json "$1")" .pending.segments)" -le "$2" ]; }
no_staged() { [ "$(find "$SPOOL_DIR" -path '*/push/staged/*' -type f | wc -l)" -eq 0 ]; }
jfield() { jq -r "$2" <<<"$1"; } # JSON FILTER

# check_done_in_repository NAME [SKIP_FILE] : every file PostgreSQL marked .done is in the
# repository and intact (archive-get verifies its size and SHA-256; the bytes equal pg_wal's copy)
check_done_in_repository() {
  local name=$1 dir=$T/check f i pids=() names
  mkdir -p "$dir"
  own "$dir"
  mapfile -t names < <(done_names "$name")
  [ "${#names[@]}" -gt 0 ] || fail "no .done file to check"
  # 4 fetchers at once, each its own list; a fetcher prints the names it could not verify
  for i in 0 1 2 3; do
    (
      for ((j = i; j < ${#names[@]}; j += 4)); do
        f=${names[j]}
        if ! (cd "$dir" && "${RUNAS[@]}" env -i PATH=/usr/bin:/bin HOME="$T" LC_ALL=C TZ=UTC \
          "$BIN" --config "$CONF" archive-get "$f" "$f") >/dev/null 2>"$dir/$f.err"; then
          echo "$f: archive-get failed: $(cat "$dir/$f.err")"
        elif [ -e "$(datadir "$name")/pg_wal/$f" ] && ! cmp -s "$dir/$f" "$(datadir "$name")/pg_wal/$f"; then
          echo "$f: differs from pg_wal/$f"
        fi
        rm -f "$dir/$f" "$dir/$f.err"
      done
    ) >"$dir/fetcher.$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  local bad
  bad=$(cat "$dir"/fetcher.*)
  [ -z "$bad" ] || fail "files PostgreSQL marked .done are missing or damaged in the repository: $bad"
  ok "all ${#names[@]} files PostgreSQL marked .done are in the repository, intact"
}

spool_worker_log() { cat "$SPOOL_DIR"/*/push/worker.log* 2>/dev/null || true; }

# ---------------------------------------------------------------- spool_burst
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# sync_push_ms NAME SEGMENT... : milliseconds that synchronous archive-push calls (no spool)
# take for these segments, into a scratch repository
sync_push_ms() {
  local name=$1 seg t0
  shift
  local probe=$REPO_URL-sync-probe
  [ "$BACKEND" = s3 ] || fail "sync_push_ms: s3 only"
  wf --cwd "$(datadir "$name")" --repo "$probe" repo-create
  [ "$WF_RC" -eq 0 ] || fail "repo-create of $probe exited $WF_RC: $WF_ERR"
  t0=$(now_ms)
  for seg in "$@"; do
    wf --cwd "$(datadir "$name")" --repo "$probe" --spool-path '' archive-push "pg_wal/$seg"
    [ "$WF_RC" -eq 0 ] || fail "synchronous archive-push of $seg exited $WF_RC: $WF_ERR"
  done
  echo $(($(now_ms) - t0))
}

archive_command_set() { # NAME COMMAND : ALTER SYSTEM, reload
  sql "$1" "ALTER SYSTEM SET archive_command = '$2'" >/dev/null
  sql "$1" 'SELECT pg_reload_conf()' >/dev/null
}

# The burst is written while archiving is held back (archive_command = ''), so that WAL
# arrives faster than any archiver can take it on any machine, however loaded; then
# archiving resumes and must clear the backlog faster than synchronous archive-push calls
# would (measured here, on the same segments, into a scratch repository).
spool_burst_hook() {
  local name=$1 t0 t1 t2 first last segs sync probe
  first=$(sql "$name" 'SELECT pg_walfile_name(pg_current_wal_lsn())')
  archive_command_set "$name" ''
  # no worker either (one started by the setup's archive-push calls idles for 30 s): the
  # spool starts cold when archiving resumes
  kill_own_walferry TERM >/dev/null
  wait_until 30 "the spool worker exits" no_own_walferry
  t0=$(now_ms)
  wal_burst "$name" 640
  t1=$(now_ms)
  last=$(switch_wal "$name")
  segs=$(ready_count "$name")
  [ "$segs" -ge 30 ] || fail "the burst left only $segs .ready files ($first .. $last)"
  log "burst: $segs segments of 16 MiB ready in $((t1 - t0)) ms while archiving was held back"
  sql "$name" 'ALTER SYSTEM RESET archive_command' >/dev/null
  sql "$name" 'SELECT pg_reload_conf()' >/dev/null
  t1=$(now_ms)
  wait_until 120 "archiving catches up with the burst ($(ready_count "$name") .ready left)" no_ready "$name"
  t2=$(now_ms)
  mapfile -t probe < <(ls "$(datadir "$name")/pg_wal" | grep -E '^[0-9A-F]{24}$' | sort | sed -n '6,11p')
  sync=$(sync_push_ms "$name" "${probe[@]}")
  local per=$((sync / ${#probe[@]}))
  log "the spool archived the $segs-segment backlog in $((t2 - t1)) ms ($((segs * 1000000 / (t2 - t1) / 1000)) segments/s); " \
    "synchronous archive-push: $per ms per segment, $((segs * per)) ms for the backlog"
  [ $((t2 - t1)) -lt $((segs * per)) ] ||
    fail "the spool was not faster than synchronous archiving ($((t2 - t1)) ms vs $((segs * per)) ms)"
  ok "the spool cleared the backlog faster than synchronous archive-push calls would"
}

scenario_spool_burst() {
  spool_conf
  PITR_HOOK=spool_burst_hook
  pitr_setup
  local s plog
  s=$(status_json P)
  expect_eq "status: nothing pending" "$(jfield "$s" .pending.segments)" 0
  expect_eq "status: a last success" "$(jfield "$s" '.last_success.name | test("^[0-9A-F]{24}$")')" true
  [ "$(jfield "$s" .uploaded.segments)" -ge 40 ] || fail "status: only $(jfield "$s" .uploaded.segments) uploads: $s"
  plog=$(log_of P)
  local archived slow
  archived=$(sql P 'SELECT archived_count FROM pg_stat_archiver')
  slow=$(grep -c "through the spool" <<<"$plog" || true)
  log "PostgreSQL archived $archived files; $slow archive-push calls waited for the worker, the others found their confirmation"
  [ "$slow" -lt "$archived" ] || fail "the worker never ran ahead of PostgreSQL ($slow of $archived calls waited)"
  ok "the worker ran ahead: $((archived - slow)) of $archived archive-push calls answered from the spool"
  expect_match "the backlog warning reached PostgreSQL's log" "$plog" 'WARNING: archive-push: spool backlog: [0-9]+ WAL files wait'
  check_done_in_repository P
  pitr_verify
}

# ---------------------------------------------------------------- spool_kill9
# Each round kills one of this test's walferry processes at a random moment: mostly the
# upload worker (mid-read, mid-compression, mid-upload, mid-record), one time in five an
# archive-push call PostgreSQL is waiting for (PostgreSQL's archiver then exits and is
# restarted 10 s later, as it does for a signal). When no worker runs, one is started the way
# archive-push starts it, so that every round finds work under way.
spool_kill9_hook() {
  local name=$1 trials=${WALFERRY_E2E_KILL9_TRIALS:-50} kills=0 fg=0 rounds=0 p victim
  local -a workers others
  start_wal_generator "$name" 1800
  while [ "$kills" -lt "$trials" ]; do
    rounds=$((rounds + 1))
    [ "$rounds" -le $((trials * 10)) ] || fail "only $kills kills in $rounds rounds"
    sleep "0.$((RANDOM % 25 + 5))"
    workers=() others=()
    while read -r p; do
      if grep -qa archive-push-worker "/proc/$p/cmdline" 2>/dev/null; then workers+=("$p"); else others+=("$p"); fi
    done < <(own_walferry_pids)
    if [ $((RANDOM % 5)) -eq 0 ] && [ "${#others[@]}" -gt 0 ]; then
      victim=${others[RANDOM % ${#others[@]}]}
      kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1)) && fg=$((fg + 1))
    elif [ "${#workers[@]}" -gt 0 ]; then
      victim=${workers[RANDOM % ${#workers[@]}]}
      kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
    else
      as_pg "$BIN" --config "$CONF" archive-push-worker --pg-data "$(datadir "$name")" >>"$T/worker-started-by-test.log" 2>&1 &
    fi
    [ $((rounds % 25)) -ne 0 ] || log "$kills kills in $rounds rounds"
  done
  stop_wal_generator
  log "$kills walferry processes killed with SIGKILL ($fg archive-push calls, $((kills - fg)) workers; $rounds rounds) during WAL generation"
}

scenario_spool_kill9() {
  spool_conf "archive-timeout = 20"
  PITR_HOOK=spool_kill9_hook PITR_FAILURES_EXPECTED=1
  pitr_setup
  # nothing left over: no staged copy, no temp file in the spool once everything is archived
  wait_until 30 "the spool worker converges" pending_at_most P 0
  check_done_in_repository P
  pitr_verify
}

# ---------------------------------------------------------------- spool_outage
spool_outage_hook() {
  local name=$1 s p1 p2
  wal_burst "$name" 48
  repo_down
  wal_burst "$name" 96
  wait_until 60 "archive_command fails while the repository is down" test_failed_archiving "$name"
  wait_until 60 "the backlog shows in walferry status" pending_at_least "$name" 5
  s=$(status_json "$name")
  p1=$(jfield "$s" .pending.segments)
  expect_ne "status: the last error" "$(jfield "$s" .last_error.message)" null
  log "status during the outage: $p1 pending, oldest $(jfield "$s" .pending.oldest) ($(jfield "$s" .pending.oldest_age_seconds) s), last error: $(jfield "$s" .last_error.message)"
  wal_burst "$name" 64
  s=$(status_json "$name")
  p2=$(jfield "$s" .pending.segments)
  [ "$p2" -gt "$p1" ] || fail "the backlog did not grow: $p1 then $p2"
  ok "the backlog grows during the outage ($p1, then $p2 segments)"
  local plog
  plog=$(log_of "$name")
  expect_match "PostgreSQL's log: archive_command failed with exit code 3" "$plog" 'archive command failed with exit code 3'
  expect_match "PostgreSQL's log: walferry names the segment and the repository's failure" "$plog" \
    "ERROR: archive-push: .*(spool worker could not archive|no confirmation of) '[0-9A-F]{24}'"
  repo_up
}

scenario_spool_outage() {
  spool_conf "archive-timeout = 5" "s3-max-attempts = 2" "s3-retry-seconds = 2" "s3-connect-timeout = 2"
  PITR_HOOK=spool_outage_hook PITR_FAILURES_EXPECTED=1
  pitr_setup
  local s
  s=$(status_json P)
  expect_eq "status: nothing pending after the outage" "$(jfield "$s" .pending.segments)" 0
  check_done_in_repository P
  pitr_verify
}

# ---------------------------------------------------------------- spool_full
spool_full_hook() {
  local name=$1 before staged f
  before=$(done_names "$name")
  repo_down
  wal_burst "$name" 400
  switch_wal "$name" >/dev/null
  wait_until 90 "archive_command fails once the spool is full" test_failed_archiving "$name"
  staged=$(find "$SPOOL_DIR" -path '*/push/staged/*' -type f ! -name '.wf-tmp.*' | wc -l)
  [ "$staged" -ge 1 ] || fail "no staged copy in the spool: $(find "$SPOOL_DIR" | head -n 20)"
  ok "$staged staged copies in the 4 MiB spool ($(df -k "$SPOOL_MOUNT" | awk 'NR == 2 { print $4 }') KiB free)"
  local plog
  plog=$(log_of "$name")
  expect_match "PostgreSQL's log: the full spool is named" "$plog" \
    "ERROR: archive-push: (the spool filesystem of '$SPOOL_DIR' is full|cannot stage .* in the spool '$SPOOL_DIR': .*No space left)"
  expect_match "PostgreSQL's log: archive_command failed (the direct push failed too)" "$plog" \
    'archive command failed with exit code 3'
  # no false success: each file PostgreSQL marked .done since the repository went down is staged
  for f in $(comm -13 <(echo "$before") <(done_names "$name")); do
    [ -n "$(find "$SPOOL_DIR" -path "*/push/staged/$f")" ] || fail "$f is marked .done but is neither staged nor in the repository"
  done
  ok "every segment marked .done during the outage is staged in the spool"
  expect_ne "status: the last error" "$(jfield "$(status_json "$name")" .last_error.message)" null
  repo_up
}

scenario_spool_full() {
  [ "$(id -u)" -eq 0 ] || fail "spool_full mounts a tmpfs: run it as root (the test command does)"
  SPOOL_MOUNT=$T/spoolfs
  mkdir -p "$SPOOL_MOUNT"
  mount -t tmpfs -o size=4m,mode=0755 tmpfs "$SPOOL_MOUNT" || fail "mount tmpfs on $SPOOL_MOUNT failed"
  SPOOL_DIR=$SPOOL_MOUNT/spool
  spool_conf "archive-durability = spool" "s3-max-attempts = 2" "s3-retry-seconds = 2" "s3-connect-timeout = 2"
  PITR_HOOK=spool_full_hook PITR_FAILURES_EXPECTED=1
  pitr_setup
  wait_until 60 "the staged copies are uploaded" no_staged
  check_done_in_repository P
  pitr_verify
}

# called by e2e_cleanup (faults.sh's scenario_cleanup): after the clusters and workers stopped
spool_cleanup() {
  if [ -n "$SPOOL_MOUNT" ] && mountpoint -q "$SPOOL_MOUNT"; then umount "$SPOOL_MOUNT" || umount -l "$SPOOL_MOUNT"; fi
}
