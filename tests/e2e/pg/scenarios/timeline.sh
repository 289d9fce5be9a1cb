# shellcheck shell=bash
# Promotion to a new timeline (scenario c).

# lsn_to_segment TLI LSN : the name of the segment holding the byte just before LSN
# (PostgreSQL's XLByteToPrevSeg, 16 MiB segments), and LSN's offset in the segment of LSN
lsn_segment_before() {
  local tli=$1 hi=${2%/*} lo=${2#*/}
  local pos=$(((16#$hi << 32) + 16#$lo - 1))
  local seg=$((pos / 16777216))
  printf '%s%08X%08X\n' "$tli" $((seg / 256)) $((seg % 256))
}
lsn_offset() { local lo=${1#*/}; echo $((16#$lo % 16777216)); }

streaming() { [ "$(sql "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]; }

# timeline_setup: P on timeline 1, standby S promoted to timeline 2 (history file and .partial
# archived), load on both afterwards, all archived. Sets TL_HIST, TL_PARTIAL, TL_OFFSET,
# TL_SEG2 (S's last archived segment), TL_SEGP (P's last, on timeline 1 after the fork),
# TL_SUM2 and TL_MARKERS2 (S's final state).
timeline_setup() {
  init_cluster P
  start_cluster P
  setup_schema P
  basebackup P backups/base
  load P 3 tl1

  # S: a standby made from the base backup, fed by restore_command and by streaming
  # (the streamed, unfinished last segment is what becomes the .partial at promotion)
  cluster_from_backup backups/base S
  append_conf S "primary_conninfo = 'host=$T/P port=${PORT[P]} user=postgres application_name=S'"
  as_pg touch "$(datadir S)/standby.signal"
  start_cluster S
  wait_until 60 "S streams from P" streaming S
  load P 2 tl1-streamed
  local lsn
  lsn=$(current_lsn P)
  wait_until 60 "S replays up to $lsn" replay_reached S "$lsn"
  expect_match "S restored the base backup's WAL through restore_command" "$(log_of S)" \
    'restored log file "[0-9A-F]{24}" from archive'
  local fork_markers
  fork_markers=$(markers P)
  expect_eq "S has P's marker rows before promotion" "$(markers S)" "$fork_markers"

  # promotion: timeline 2; S archives 00000002.history and the .partial last segment of timeline 1
  expect_eq "pg_promote() on S" "$(sql S 'SELECT pg_promote(true, 60)')" t
  expect_eq "S writes timeline 2" "$(sql S 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000002
  local hist=00000002.history
  wait_archived S "$hist"
  local switch_lsn partial offset
  switch_lsn=$(awk -F'\t' '$1 == 1 { print $2 }' "$(datadir S)/pg_wal/$hist")
  [[ $switch_lsn =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "no switch point in $hist: $(cat "$(datadir S)/pg_wal/$hist")"
  partial=$(lsn_segment_before 00000001 "$switch_lsn").partial
  offset=$(lsn_offset "$switch_lsn")
  [ "$offset" -gt 0 ] || fail "timeline 2 starts on a segment boundary ($switch_lsn): no .partial segment"
  expect_file "S made $partial" "$(datadir S)/pg_wal/$partial"
  wait_archived S "$partial"
  log "timeline 2 forks from timeline 1 at $switch_lsn; $partial archived"

  # timeline 2 lives on S; P goes on alone on timeline 1
  load S 3 tl2
  TL_SUM2=$(checksum S)
  TL_MARKERS2=$(markers S)
  TL_SEG2=$(switch_wal S)
  wait_archived S "$TL_SEG2" 120
  load P 2 tl1-after-fork
  TL_SEGP=$(switch_wal P)
  wait_archived P "$TL_SEGP" 120
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0
  expect_eq "no failed archive_command on S" "$(archiver_failures S)" 0
  TL_HIST=$hist TL_PARTIAL=$partial TL_OFFSET=$offset
}

# timeline_recover NAME [SETTINGS] : a recovery from the original base backup with
# recovery_target_timeline = 'latest' (and SETTINGS) follows timeline 2 through the archived
# history file, not P's timeline 1 past the fork; exact data
timeline_recover() {
  local name=$1 hist=$TL_HIST seg2=$TL_SEG2 segp=$TL_SEGP
  cluster_from_backup backups/base "$name"
  append_conf "$name" "archive_mode = off
recovery_target_timeline = 'latest'
recovery_target_action = 'promote'
${2:-}"
  as_pg touch "$(datadir "$name")/recovery.signal"
  start_cluster "$name"
  wait_until 180 "$name finishes recovery" not_in_recovery "$name"
  local rlog
  rlog=$(log_of "$name")
  expect_match "$name restored $hist from the archive" "$rlog" "restored log file \"$hist\" from archive"
  expect_match "$name replayed timeline 2's segment $seg2" "$rlog" "restored log file \"$seg2\" from archive"
  expect_no_match "$name never read P's timeline 1 past the fork" "$rlog" "restored log file \"$segp\""
  expect_no_match "no restore_command failure in $name's log" "$rlog" 'could not restore|FATAL'
  expect_eq "$name has timeline 2's marker rows" "$(markers "$name")" "$TL_MARKERS2"
  expect_eq "$name has none of P's rows written on timeline 1 after the fork" \
    "$(sql "$name" "SELECT count(*) FROM marker WHERE tag = 'tl1-after-fork'")" 0
  expect_eq "$name's pgbench tables equal S's" "$(checksum "$name")" "$TL_SUM2"
  expect_eq "$name was promoted to timeline 3" \
    "$(sql "$name" 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000003
}

scenario_timeline() {
  timeline_setup
  local hist=$TL_HIST partial=$TL_PARTIAL offset=$TL_OFFSET

  # what the repository holds
  mkdir -p "$T/check"
  own "$T/check"
  fetch "$hist" "$T/check/$hist"
  cmp -s "$T/check/$hist" "$(datadir S)/pg_wal/$hist" || fail "archived $hist differs from S's"
  ok "archive-get $hist returns S's history file: $(tr '\t\n' ' ' <"$T/check/$hist")"
  fetch "$partial" "$T/check/$partial"
  local complete=${partial%.partial}
  fetch "$complete" "$T/check/$complete"
  expect_eq "archived $partial has the size of a segment" "$(stat -c %s "$T/check/$partial")" 16777216
  cmp -s -n "$offset" "$T/check/$partial" "$T/check/$complete" ||
    fail "$partial differs from P's $complete before the switch point"
  ok "$partial equals P's complete $complete up to the switch point ($offset bytes)"
  if [ "$BACKEND" = file ]; then
    expect_file "file:// layout: wal/history/$hist" "$REPO_DIR/wal/history/$hist"
    expect_file "file:// layout: wal/${partial:0:16}/$partial" "$REPO_DIR/wal/${partial:0:16}/$partial"
  fi

  # a later recovery from the original base backup follows timeline 2 through the
  # archived history file, not P's timeline 1 past the fork
  timeline_recover R
}
