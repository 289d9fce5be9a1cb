# shellcheck shell=bash
# Point-in-time recovery (scenario a) and recovery to the end of the archive (scenario b).

# pitr_setup: primary P archiving through walferry; a base backup (-X none) taken under
# load; more load; a pause in which TARGET, SUM_T and MARKERS_T are recorded (no
# transaction in flight: everything committed before has a commit time < TARGET, everything
# after > TARGET, so the expected state at TARGET is exact); more load; the final state
# (SUM_F, MARKERS_F); a segment switch and everything archived. With SWITCHES, that many
# more segments are completed before the target (pg_switch_wal after a small record each):
# a longer WAL sequence for recovery to read, quickly.
pitr_setup() {
  local switches=${1:-0} i
  init_cluster P
  start_cluster P
  setup_schema P
  (load P 6 during-backup) &
  local loader=$!
  BG_PIDS+=("$loader")
  sleep 2
  basebackup P backups/base
  wait "$loader" || fail "load during the base backup failed"
  # a scenario's own load between the base backup and the target (spool.sh: bursts, faults)
  if [ -n "${PITR_HOOK:-}" ]; then "$PITR_HOOK" P; fi
  load P 3 before-target
  for ((i = 0; i < switches; i++)); do switch_wal P >/dev/null; done
  sleep 0.2
  TARGET=$(sql P 'SELECT clock_timestamp()')
  SUM_T=$(checksum P)
  MARKERS_T=$(markers P)
  sleep 0.2
  log "target time $TARGET: $MARKERS_T"
  load P 4 after-target
  SUM_F=$(checksum P)
  MARKERS_F=$(markers P)
  local after
  after=$(sql P "SELECT count(*) FROM marker WHERE ts > '$TARGET'")
  [ "$after" -gt 10 ] || fail "only $after marker rows after the target"
  expect_eq "the primary's marker rows up to the target are those recorded at the target" \
    "$(markers P "ts <= '$TARGET'")" "$MARKERS_T"
  expect_ne "pgbench tables changed after the target" "$SUM_F" "$SUM_T"
  LAST_SEG=$(switch_wal P)
  wait_archived P "$LAST_SEG" 120
  [ "${PITR_FAILURES_EXPECTED:-0}" = 1 ] ||
    expect_eq "no failed archive_command on the primary" "$(archiver_failures P)" 0
  log "archived up to $LAST_SEG ($(sql P 'SELECT archived_count FROM pg_stat_archiver') files)"
}

# recover_from_backup NAME SETTINGS : copy of the base backup, recovery.signal, SETTINGS
# appended; archive_mode off so that the copy's new timeline stays out of the repository
recover_from_backup() {
  cluster_from_backup backups/base "$1"
  append_conf "$1" "archive_mode = off
$2"
  as_pg touch "$(datadir "$1")/recovery.signal"
}

restored_count() { grep -c 'restored log file ".*" from archive' "$T/$1/log" || true; }

scenario_pitr() {
  pitr_setup
  pitr_verify
}

# pitr_verify : a copy of the base backup recovered to TARGET has exactly the state at TARGET
pitr_verify() {
  recover_from_backup R "recovery_target_time = '$TARGET'
recovery_target_action = 'promote'"
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  local rlog
  rlog=$(log_of R)
  expect_match "recovery stopped at the target time" "$rlog" \
    'recovery stopping before commit of transaction [0-9]+, time '
  expect_match "WAL was read through restore_command" "$rlog" 'restored log file "[0-9A-F]{24}" from archive'
  expect_no_match "no restore_command failure in R's log" "$rlog" 'could not restore|FATAL'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  expect_eq "R was promoted to timeline 2" "$(sql R 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000002
  log "R restored $(restored_count R) files from the archive"
}

scenario_end_of_archive() {
  pitr_setup
  recover_from_backup R "recovery_target_action = 'promote'"
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  local rlog
  rlog=$(log_of R)
  expect_match "the last archived segment was restored" "$rlog" "restored log file \"$LAST_SEG\" from archive"
  expect_match "archive recovery completed" "$rlog" 'archive recovery complete'
  expect_no_match "no restore_command failure in R's log" "$rlog" 'could not restore|FATAL'
  expect_eq "marker rows equal the final state" "$(markers R)" "$MARKERS_F"
  expect_eq "pgbench tables equal the final state" "$(checksum R)" "$SUM_F"
  log "R restored $(restored_count R) files from the archive"
}
