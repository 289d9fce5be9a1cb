# shellcheck shell=bash
# A standby whose only WAL source is restore_command (scenario d).

scenario_standby() {
  init_cluster P
  start_cluster P
  setup_schema P
  basebackup P backups/base
  cluster_from_backup backups/base S
  append_conf S "primary_conninfo = ''"
  as_pg touch "$(datadir S)/standby.signal"
  start_cluster S
  local round lsn seg m c t1
  for round in 1 2 3; do
    load P 2 "round$round"
    m=$(markers P)
    c=$(checksum P)
    lsn=$(current_lsn P)
    seg=$(switch_wal P)
    wait_archived P "$seg"
    t1=$SECONDS
    wait_until 60 "S replays up to $lsn (segment $seg)" replay_reached S "$lsn"
    log "round $round: S replayed $seg within $((SECONDS - t1)) s of its archiving"
    expect_eq "round $round: S has P's marker rows" "$(markers S)" "$m"
    expect_eq "round $round: S's pgbench tables equal P's" "$(checksum S)" "$c"
    expect_eq "round $round: S is still a standby" "$(sql S 'SELECT pg_is_in_recovery()')" t
  done
  sleep 1
  expect_eq "S stays a standby at the end of the archive" "$(sql S 'SELECT pg_is_in_recovery()')" t
  expect_eq "S has no WAL receiver: restore_command is its only source" \
    "$(sql S 'SELECT count(*) FROM pg_stat_wal_receiver')" 0
  local slog
  slog=$(log_of S)
  expect_match "S restored $seg from the archive" "$slog" "restored log file \"$seg\" from archive"
  expect_no_match "S never promoted" "$slog" 'selected new timeline|archive recovery complete'
  expect_no_match "no FATAL in S's log" "$slog" 'FATAL'
  expect_no_match "walferry is quiet when the archive has no next file yet (exit 1)" "$slog" \
    'walferry\[[0-9]+\]: (WARNING|ERROR)'
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0
}
