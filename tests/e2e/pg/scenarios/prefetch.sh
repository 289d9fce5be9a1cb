# shellcheck shell=bash
# Restore prefetch: recoveries whose restore_command is archive-get with a spool
# (man/walferry-archive-get.1, section SPOOL).

# prefetch_conf NAME PREFETCH : a config file $T/NAME.conf = the scenario's repository plus
# a spool in $T/NAME-spool and archive-get-prefetch = PREFETCH; prints its path
prefetch_conf() {
  local conf=$T/$1.conf spool=$T/$1-spool
  mkdir -p "$spool"
  own "$spool"
  cp "$CONF" "$conf"
  printf 'spool-path = %s\narchive-get-prefetch = %s\nparallel = 4\n' "$spool" "$2" >>"$conf"
  own "$conf"
  echo "$conf"
}

# prefetch_get_dir NAME : the spool's get/ directory (one repository: one directory)
prefetch_get_dir() {
  local d
  for d in "$T/$1-spool"/*/get; do [ -d "$d" ] && echo "$d" && return 0; done
  return 1
}

# segment files in get/ (prefetched or being written)
prefetched_files() { find "$1" -maxdepth 1 -name '[0-9A-F]*' -printf '%f\n' 2>/dev/null | sort; }
worker_gone() { [ -z "$(prefetched_files "$1")" ] && flock -n "$1/worker.lock" true; }

# prefetch_wait_clean GETDIR : the worker exits by itself (10 s without requests) and leaves
# no segment behind
prefetch_wait_clean() {
  wait_until 40 "the prefetch worker exits and empties $1 ($(prefetched_files "$1" | tr '\n' ' '))" worker_gone "$1"
  ok "the prefetch worker exited and left no segment in get/"
}

scenario_prefetch_pitr() {
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
  expect_match "recovery stopped at the target time" "$rlog" \
    'recovery stopping before commit of transaction [0-9]+, time '
  expect_no_match "no restore_command failure in R's log" "$rlog" 'could not restore|FATAL|walferry\[[0-9]+\]: (WARNING|ERROR)'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  served=$(grep -c "restored '[0-9A-F]\{24\}' to 'pg_wal/RECOVERYXLOG' from the prefetch spool" <<<"$rlog" || true)
  direct=$(grep -c "restored '[0-9A-F]\{24\}' to 'pg_wal/RECOVERYXLOG' (" <<<"$rlog" || true)
  log "archive-get served $served segments from the prefetch spool, fetched $direct directly"
  [ "$served" -ge 10 ] || fail "only $served segments served from the prefetch spool"
  [ "$served" -gt "$direct" ] || fail "prefetch served $served segments, fewer than the $direct fetched directly"
  getdir=$(prefetch_get_dir R) || fail "no spool directory for the repository in $T/R-spool"
  expect_match "the worker logged its downloads" "$(cat "$getdir/worker.log")" 'prefetched [0-9A-F]{24} '
  expect_no_match "the worker logged no error" "$(cat "$getdir/worker.log")" ': (WARNING|ERROR): '
  prefetch_wait_clean "$getdir"
}

# lsn_segno LSN : the number of the 16 MiB segment holding LSN
lsn_segno() { local hi=${1%/*} lo=${1#*/}; echo $((((16#$hi << 32) + 16#$lo) / 16777216)); }

scenario_prefetch_timeline() {
  timeline_setup
  local switch_lsn fork_segno conf getdir rlog wlog name n
  switch_lsn=$(awk -F'\t' '$1 == 1 { print $2 }' "$(datadir S)/pg_wal/$TL_HIST")
  fork_segno=$(lsn_segno "$switch_lsn")

  # with prefetch: while R replays timeline 1 the worker fetches timeline 1's segments,
  # P's ones past the fork among them; they must be discarded and never served
  conf=$(prefetch_conf R 8)
  timeline_recover R "restore_command = '$BIN --config $conf archive-get %f %p'"
  rlog=$(log_of R)
  getdir=$(prefetch_get_dir R) || fail "no spool directory for the repository in $T/R-spool"
  wlog=$(cat "$getdir/worker.log")
  expect_match "R was served segments from the prefetch spool" "$rlog" "from the prefetch spool"
  expect_match "the worker prefetched timeline 2" "$wlog" 'prefetched 00000002[0-9A-F]{16} '
  local beyond=()
  while read -r name; do
    n=$((16#${name:8:8} * 256 + 16#${name:16:8}))
    [ "$n" -lt "$fork_segno" ] || beyond+=("$name")
  done < <(sed -n 's/.*prefetched \(00000001[0-9A-F]\{16\}\) .*/\1/p' <<<"$wlog")
  [ ${#beyond[@]} -gt 0 ] || fail "the worker prefetched no timeline 1 segment at or past the fork (segment $fork_segno): $wlog"
  log "timeline 1 segments prefetched at or past the fork: ${beyond[*]}"
  for name in "${beyond[@]}"; do
    expect_no_match "R never restored $name (timeline 1 at or past the fork)" "$rlog" "restored log file \"$name\""
    expect_no_match "archive-get never served $name" "$rlog" "restored '$name'"
    expect_match "the worker discarded $name for timeline 2" "$wlog" \
      "discarded prefetched $name: timeline 00000001, recovery asks for 00000002"
  done
  prefetch_wait_clean "$getdir"

  # the same recovery with prefetch off (archive-get-prefetch = 0, spool set)
  conf=$(prefetch_conf R2 0)
  timeline_recover R2 "restore_command = '$BIN --config $conf archive-get %f %p'"
  expect_no_match "prefetch off: nothing served from a spool" "$(log_of R2)" "prefetch spool"
  expect_eq "prefetch off: no worker, no request, nothing in the spool" \
    "$(find "$T/R2-spool" -mindepth 1 | wc -l)" 0
}
