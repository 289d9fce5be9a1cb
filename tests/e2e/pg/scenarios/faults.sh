# shellcheck shell=bash
# Faults (scenario e): write-once, another cluster, a corrupted object, an unreachable
# repository during recovery.

# scratch DIR : an empty directory owned by postgres, standing in for a data directory
scratch() {
  rm -rf "${T:?}/$1"
  mkdir -p "$T/$1/pg_wal"
  own "$T/$1"
  echo "$T/$1"
}
sha() { sha256sum "$1" | cut -c1-64; }
# flip_byte FILE OFFSET : invert the byte at OFFSET in place
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
  printf '%b' "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# archive_failed NAME FILE : the archiver of NAME has failed on FILE
archive_failed() {
  [ "$(sql "$1" "SELECT failed_count > 0 AND last_failed_wal IS NOT DISTINCT FROM '$2' FROM pg_stat_archiver")" = t ]
}

# a primary whose first segments are archived; SEG1: the first one, a copy in $T/copies
primary_with_archive() {
  init_cluster P
  start_cluster P
  sql P 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)'
  SEG1=$(switch_wal P)
  wait_archived P "$SEG1"
  mkdir -p "$T/copies"
  cp "$(datadir P)/pg_wal/$SEG1" "$T/copies/$SEG1"
}

scenario_push_twice() {
  primary_with_archive
  local d
  d=$(scratch fake-data)
  cp "$T/copies/$SEG1" "$d/pg_wal/$SEG1"
  own "$d"

  # same name, same content: success with a warning
  wf_expect "the same segment pushed again succeeds" 0 --cwd "$d" archive-push "pg_wal/$SEG1"
  expect_match "... with a warning" "$WF_ERR" 'WARN'
  log "walferry said: $WF_ERR"

  # same name, other content: refused, the stored object unchanged
  flip_byte "$d/pg_wal/$SEG1" $((8 * 1024 * 1024 + 4321))
  wf_expect "the same segment name with other content is refused" 6 --cwd "$d" archive-push "pg_wal/$SEG1"
  expect_match "... with an error" "$WF_ERR" 'ERROR'
  log "walferry said: $WF_ERR"
  fetch "$SEG1" "$T/check/$SEG1"
  expect_eq "the stored segment is still the original" "$(sha "$T/check/$SEG1")" "$(sha "$T/copies/$SEG1")"

  # PostgreSQL archiving a segment again (as after a crash that lost archive_status):
  # archive_command succeeds, with walferry's warning in the server log
  local st
  st=$(datadir P)/pg_wal/archive_status
  mv "$st/$SEG1.done" "$st/$SEG1.ready"
  local seg2
  seg2=$(switch_wal P) # a new .ready wakes the archiver
  wait_archived P "$seg2"
  wait_archived P "$SEG1"
  expect_match "PostgreSQL archived $SEG1 a second time, with walferry's warning in its log" "$(log_of P)" \
    "WARNING: archive-push: 'pg_wal/$SEG1' was already archived .* with identical content"
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0

  local h=00000002.history
  printf '1\t0/3000000\tno recovery target specified\n' >"$d/pg_wal/$h"
  own "$d"
  wf_expect "a new history file is archived" 0 --cwd "$d" archive-push "pg_wal/$h"
  wf_expect "the same history file again succeeds" 0 --cwd "$d" archive-push "pg_wal/$h"
  expect_match "... with a warning" "$WF_ERR" 'WARN'
  cp "$d/pg_wal/$h" "$T/copies/$h"
  printf '1\t0/4000000\tno recovery target specified\n' >"$d/pg_wal/$h"
  wf_expect "a history file with other content is never overwritten" 6 --cwd "$d" archive-push "pg_wal/$h"
  fetch "$h" "$T/check/$h"
  expect_eq "the stored history file is still the first one" "$(sha "$T/check/$h")" "$(sha "$T/copies/$h")"

  # names PostgreSQL never archives are refused
  local bad
  for bad in postgresql.conf 00000001000000000000000G 000000010000000000000001.tmp; do
    printf 'x' >"$d/pg_wal/$bad"
    own "$d"
    wf --cwd "$d" archive-push "pg_wal/$bad"
    [ "$WF_RC" -ge 1 ] && [ "$WF_RC" -le 125 ] && [ -n "$WF_ERR" ] ||
      fail "archive-push of '$bad' exited $WF_RC (want 1..125 and an error): $WF_ERR"
    ok "archive-push of '$bad' is refused (exit $WF_RC)"
  done
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0
}

scenario_other_cluster() {
  primary_with_archive
  # repo-create recorded P's WAL segment size, from pg_control (issue 10: it recorded 0,
  # so the size check never ran)
  local ident pseg
  if [ "$BACKEND" = file ]; then ident=$(cat "$REPO_DIR/walferry.repo"); else
    s3_object GET walferry.repo "$T/walferry.repo"
    ident=$(cat "$T/walferry.repo")
  fi
  pseg=$(as_pg pg_controldata "$(datadir P)" | sed -n 's/^Bytes per WAL segment: *//p')
  expect_match "walferry.repo records P's WAL segment size ($pseg)" "$ident" \
    "\"wal_segment_size\": ${pseg},?$"
  # Q: another initdb (another system identifier), installed with the same example
  # settings, hence the same repository
  init_cluster Q no-repo
  wf_expect "repo-create for Q refused: the repository belongs to P" 11 --cwd "$(datadir Q)" repo-create
  start_cluster Q
  local qsys psys
  qsys=$(as_pg pg_controldata "$(datadir Q)" | sed -n 's/^Database system identifier: *//p')
  psys=$(as_pg pg_controldata "$(datadir P)" | sed -n 's/^Database system identifier: *//p')
  expect_ne "Q is another cluster (system identifier $qsys)" "$qsys" "$psys"
  local qseg
  qseg=$(switch_wal Q)
  expect_eq "Q's first segment has the name of P's" "$qseg" "$SEG1"
  wait_until 30 "Q's archive_command fails on $qseg" archive_failed Q "$qseg"
  expect_match "Q's archive_command exited 11 (wrong cluster)" "$(log_of Q)" \
    'archive command failed with exit code 11'
  expect_eq "Q archived nothing" "$(sql Q 'SELECT archived_count FROM pg_stat_archiver')" 0
  fetch "$SEG1" "$T/check/$SEG1"
  expect_eq "the repository still holds P's $SEG1" "$(sha "$T/check/$SEG1")" "$(sha "$T/copies/$SEG1")"

  # a segment of Q under a name P never archived: refused as well, nothing stored
  local i qlast
  for i in 1 2 3; do
    sql Q "CREATE TABLE q$i (x int)"
    qlast=$(switch_wal Q)
  done
  local d
  d=$(scratch q-copy)
  cp "$(datadir Q)/pg_wal/$qlast" "$d/pg_wal/$qlast"
  own "$d"
  wf --cwd "$T" archive-get "$qlast" "$T/none" >/dev/null
  expect_eq "P's repository has no $qlast" "$WF_RC" 1
  wf_expect "Q's $qlast is refused" 11 --cwd "$d" archive-push "pg_wal/$qlast"
  log "walferry said: $WF_ERR"
  wf archive-get "$qlast" "$T/none"
  expect_eq "... and not stored" "$WF_RC" 1
  stop_cluster Q immediate # its archiver would retry at shutdown
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0
}

# segment_start_lsn NAME : the LSN at which segment NAME starts (16 MiB segments)
segment_start_lsn() {
  local seg=$(((16#${1:8:8} << 8) + 16#${1:16:8}))
  printf '%X/%X\n' $((seg >> 8)) $(((seg & 255) << 24))
}

# s3_object GET|PUT KEY FILE : the raw object KEY of the s3:// repository, with curl (SigV4)
s3_object() {
  local url=$WALFERRY_TEST_S3_TLS_ENDPOINT/${REPO_URL#s3://}/$2
  local args=(-sS -f --aws-sigv4 aws:amz:us-east-1:s3 --cacert "$T/ca.pem"
    --user "$WALFERRY_TEST_S3_ACCESS_KEY:$WALFERRY_TEST_S3_SECRET_KEY"
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
  if [ "$1" = GET ]; then
    curl "${args[@]}" -o "$3" "$url" || fail "GET $url failed"
  else
    curl "${args[@]}" -X PUT --upload-file "$3" "$url" >/dev/null || fail "PUT $url failed"
  fi
}
# the stored object of a WAL segment (layout: walferry-repository(5)), saved to
# $T/object-NAME, then corrupted in place / put back
object_key() { echo "wal/${1:0:16}/$1"; }
save_object() {
  if [ "$BACKEND" = file ]; then
    expect_file "the object of $1" "$REPO_DIR/$(object_key "$1")"
    cp "$REPO_DIR/$(object_key "$1")" "$T/object-$1"
  else
    s3_object GET "$(object_key "$1")" "$T/object-$1"
  fi
}
corrupt_object() { # flip one byte near the end of the object (in its compressed payload)
  cp "$T/object-$1" "$T/object-$1.bad"
  flip_byte "$T/object-$1.bad" $(($(stat -c %s "$T/object-$1.bad") - 20))
  put_object "$1" "$T/object-$1.bad"
}
put_object() {
  if [ "$BACKEND" = file ]; then
    cp "$2" "$REPO_DIR/$(object_key "$1")"
    own "$REPO_DIR/$(object_key "$1")"
  else
    s3_object PUT "$(object_key "$1")" "$2"
  fi
}

scenario_corrupt() {
  init_cluster P
  start_cluster P
  setup_schema P
  basebackup P backups/base
  load P 2 a
  local x y
  x=$(switch_wal P)
  wait_archived P "$x"
  load P 2 b
  local lsn_y
  lsn_y=$(current_lsn P)
  y=$(switch_wal P)
  wait_archived P "$y"
  local markers_f sum_f
  markers_f=$(markers P)
  sum_f=$(checksum P)
  expect_eq "no failed archive_command on P" "$(archiver_failures P)" 0

  # flip one byte near the end of the object of segment X (in its compressed payload)
  save_object "$x"
  corrupt_object "$x"
  local d
  d=$(scratch fake-data)
  wf_expect "archive-get of the corrupted $x fails with the corruption code" 7 --cwd "$d" archive-get "$x" pg_wal/RECOVERYXLOG
  log "walferry said: $WF_ERR"
  expect_no_file "nothing written at PATH" "$d/pg_wal/RECOVERYXLOG"
  expect_eq "nothing left in the target directory" "$(ls -A "$d/pg_wal")" ""
  # walferry's own checks, beyond the codec's checksum: a truncated object, and an
  # object whose header records another SHA-256 than its content's
  local obj=$T/object-$x size hlen
  size=$(stat -c %s "$obj")
  head -c $((size - 1000)) "$obj" >"$obj.truncated"
  put_object "$x" "$obj.truncated"
  wf_expect "archive-get of a truncated object fails with the corruption code" 7 --cwd "$d" archive-get "$x" pg_wal/RECOVERYXLOG
  expect_eq "nothing written" "$(ls -A "$d/pg_wal")" ""
  hlen=$(head -n 1 "$obj" | wc -c)
  grep -q '"sha256":"[0-9a-f]\{64\}"' <(head -n 1 "$obj") || fail "no sha256 in the object's header: $(head -n 1 "$obj")"
  {
    head -n 1 "$obj" | sed -E 's/("sha256":")0/\1X/; t; s/("sha256":")[0-9a-f]/\10/' | sed 's/"sha256":"X/"sha256":"1/'
    tail -c +$((hlen + 1)) "$obj"
  } >"$obj.badsum"
  expect_ne "the forged header differs" "$(head -n 1 "$obj.badsum")" "$(head -n 1 "$obj")"
  put_object "$x" "$obj.badsum"
  wf_expect "archive-get of an object whose content does not match its SHA-256 fails" 7 --cwd "$d" archive-get "$x" pg_wal/RECOVERYXLOG
  expect_eq "nothing written" "$(ls -A "$d/pg_wal")" ""
  log "walferry said: $WF_ERR"
  corrupt_object "$x"

  local x_start
  x_start=$(segment_start_lsn "$x")

  # archive recovery from the base backup: it must stop at X (FATAL), not end there
  cluster_from_backup backups/base R
  append_conf R "archive_mode = off
recovery_target_action = 'promote'"
  as_pg touch "$(datadir R)/recovery.signal"
  start_cluster R no-wait
  wait_until 60 "R's recovery stops at $x" postmaster_exited R
  local rlog
  rlog=$(log_of R)
  expect_match "walferry reported the corruption of $x in R's log" "$rlog" "ERROR: archive-get: corruption: .*$x"
  expect_match "R's recovery stopped: FATAL on $x (archive-get exit 200)" "$rlog" \
    "FATAL: +could not restore file \"$x\" from archive: child process exited with exit code 200"
  expect_no_match "R never restored the corrupted $x" "$rlog" "restored log file \"$x\""
  expect_no_match "R did not end recovery" "$rlog" 'selected new timeline|archive recovery complete'
  expect_eq "R is still in archive recovery" "$(cluster_state R)" "in archive recovery"
  expect_no_file "R made no new timeline" "$(datadir R)/pg_wal/00000002.history"

  # a standby from the base backup waits at X and retries: never past X's start
  cluster_from_backup backups/base S
  append_conf S "primary_conninfo = ''"
  as_pg touch "$(datadir S)/standby.signal"
  start_cluster S
  wait_until 60 "S meets the corruption of $x" grep -q "ERROR: archive-get: corruption: .*$x" "$T/S/log"
  sleep 1
  expect_eq "S is a standby" "$(sql S 'SELECT pg_is_in_recovery()')" t
  expect_eq "S replayed nothing of $x (replay position <= $x_start)" \
    "$(sql S "SELECT pg_last_wal_replay_lsn() <= '$x_start'::pg_lsn")" t
  expect_no_match "S never restored the corrupted $x" "$(log_of S)" "restored log file \"$x\""
  expect_no_match "no FATAL on the standby" "$(log_of S)" 'FATAL'

  # the object repaired: the standby goes on by itself, R's recovery completes on restart
  put_object "$x" "$T/object-$x"
  wait_until 60 "S replays up to $lsn_y once $x is repaired" replay_reached S "$lsn_y"
  expect_eq "S has P's final marker rows" "$(markers S)" "$markers_f"
  expect_eq "S's pgbench tables equal P's" "$(checksum S)" "$sum_f"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_match "R restored the repaired $x" "$(log_of R)" "restored log file \"$x\" from archive"
  expect_eq "R has P's final marker rows" "$(markers R)" "$markers_f"
  expect_eq "R's pgbench tables equal P's" "$(checksum R)" "$sum_f"
}

# ---- an unreachable repository: s3, radosgw stopped (its TLS front stays up and drops
# the connections); file, the repository's directory unreadable (chmod 000)
REPO_IS_DOWN=0
repo_down() {
  if [ "$BACKEND" = s3 ]; then
    "$WALFERRY_TEST_S3_SCRIPTS/stop.sh" "$WALFERRY_TEST_S3_DIR" 3-rgw >/dev/null || fail "stopping radosgw failed"
  else
    chmod 000 "$REPO_DIR"
  fi
  REPO_IS_DOWN=1
  log "repository down"
}
repo_up() {
  if [ "$BACKEND" = s3 ]; then
    "$WALFERRY_TEST_S3_SCRIPTS/start.sh" "$WALFERRY_TEST_S3_DIR" "$WALFERRY_TEST_S3_PORT" >/dev/null ||
      fail "starting radosgw again failed"
  else
    chmod 755 "$REPO_DIR"
  fi
  REPO_IS_DOWN=0
  log "repository up"
}
scenario_cleanup() {
  if [ "$REPO_IS_DOWN" = 1 ]; then repo_up; fi
  if declare -F spool_cleanup >/dev/null; then spool_cleanup; fi
}

# recover_to_mid_and_shut_down NAME : cluster NAME from the base backup recovers to the
# restore point 'mid' and shuts down there: a recovery in progress
recover_to_mid_and_shut_down() {
  local name=$1
  cluster_from_backup backups/base "$name"
  append_conf "$name" "archive_mode = off
recovery_target_name = 'mid'
recovery_target_action = 'shutdown'"
  as_pg touch "$(datadir "$name")/recovery.signal"
  start_cluster "$name" no-wait
  wait_until 120 "$name recovers to 'mid' and shuts down" postmaster_exited "$name"
}

scenario_unreachable() {
  if [ "$BACKEND" = s3 ]; then
    local v
    for v in WALFERRY_TEST_S3_SCRIPTS WALFERRY_TEST_S3_DIR WALFERRY_TEST_S3_PORT; do
      [ -n "${!v:-}" ] || fail "$v unset: run through scripts/test.sh, which starts the real S3 server"
    done
    # give up sooner than the defaults (6 attempts within 60 s) so that the test is short
    write_walferry_conf "$CONF" "s3-max-attempts = 3" "s3-retry-seconds = 4" "s3-connect-timeout = 3"
  fi
  init_cluster P
  start_cluster P
  setup_schema P
  basebackup P backups/base
  load P 3 a
  sql P "SELECT pg_create_restore_point('mid')" >/dev/null
  load P 3 b
  local lsn_b seg_b
  lsn_b=$(current_lsn P)
  seg_b=$(switch_wal P)
  wait_archived P "$seg_b"

  # R recovers from the base backup up to the restore point, well past its consistent
  # point, and shuts down there: a recovery in progress
  recover_to_mid_and_shut_down R
  expect_match "R stopped at the restore point" "$(last_log R)" 'recovery stopping at restore point "mid"'
  expect_eq "R is shut down in recovery" "$(cluster_state R)" "shut down in recovery"
  # S, an archive-only standby, caught up with P
  cluster_from_backup backups/base S
  append_conf S "primary_conninfo = ''"
  as_pg touch "$(datadir S)/standby.signal"
  start_cluster S
  wait_until 60 "S replays up to $lsn_b" replay_reached S "$lsn_b"

  repo_down
  local d
  d=$(scratch fake-data)
  as_pg touch "$d/recovery.signal"
  local t0=$SECONDS
  wf_expect "archive-get with the repository down, in archive recovery: exit 200" 200 --cwd "$d" archive-get "$seg_b" pg_wal/RECOVERYXLOG
  log "... after $((SECONDS - t0)) s; walferry said: $WF_ERR"
  expect_no_file "nothing written at PATH" "$d/pg_wal/RECOVERYXLOG"
  rm "$d/recovery.signal"
  as_pg touch "$d/standby.signal"
  wf --cwd "$d" archive-get "$seg_b" pg_wal/RECOVERYXLOG
  if [ "$BACKEND" = s3 ]; then
    expect_eq "... on a standby: exit 3 (unreachable), PostgreSQL retries" "$WF_RC" 3
  else
    expect_eq "... on a standby: exit 5 (permission), PostgreSQL retries" "$WF_RC" 5
  fi

  # R resumes its recovery, towards the end of the archive, with the repository down: it
  # must stop (FATAL) instead of ending recovery before the WAL it could not read
  append_conf R "recovery_target_name = ''
recovery_target_action = 'promote'"
  start_cluster R no-wait
  wait_until 120 "R stops" postmaster_exited R
  local rlog
  rlog=$(last_log R)
  expect_match "R's recovery stopped: FATAL, archive-get exited 200" "$rlog" \
    'FATAL: +could not restore file "[0-9A-F.a-z]+" from archive: child process exited with exit code 200'
  expect_no_match "R did not end recovery" "$rlog" 'selected new timeline|archive recovery complete|redo done'
  expect_eq "R is still in archive recovery, on timeline 1" "$(cluster_state R)/$(timeline_of R)" "shut down in recovery/1"
  expect_no_file "R made no new timeline" "$(datadir R)/pg_wal/00000002.history"

  # meanwhile P cannot archive, and S waits without giving up
  load P 2 c
  local seg_c
  seg_c=$(switch_wal P)
  wait_until 60 "P's archive_command fails" test_failed_archiving P
  local code=3
  [ "$BACKEND" = s3 ] || code=5
  expect_match "P's archive_command exited $code" "$(log_of P)" "archive command failed with exit code $code"
  expect_eq "S is still a standby" "$(sql S 'SELECT pg_is_in_recovery()')" t
  expect_no_match "no FATAL on the standby" "$(log_of S)" 'FATAL'

  repo_up
  local lsn_end seg_end
  lsn_end=$(current_lsn P)
  seg_end=$(switch_wal P) # a new .ready wakes P's archiver
  wait_archived P "$seg_c" 120
  wait_archived P "$seg_end" 60
  local markers_f sum_f
  markers_f=$(markers P)
  sum_f=$(checksum P)
  wait_until 120 "S catches up to $lsn_end" replay_reached S "$lsn_end"
  expect_eq "S has P's final marker rows" "$(markers S)" "$markers_f"
  expect_eq "S's pgbench tables equal P's" "$(checksum S)" "$sum_f"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_match "R completed its recovery" "$(last_log R)" 'archive recovery complete'
  expect_eq "R has P's final marker rows (nothing lost in the outage)" "$(markers R)" "$markers_f"
  expect_eq "R's pgbench tables equal P's" "$(checksum R)" "$sum_f"
}
test_failed_archiving() { [ "$(archiver_failures "$1")" -gt 0 ]; }

# ---- file:// only: the repository's directory is gone (an unmounted file system). The
# repository definitively holding no file is not what archive-get can claim then: during
# archive recovery it must stop recovery like any other failing repository.
scenario_missing_repo() {
  [ "$BACKEND" = file ] || fail "scenario missing_repo is about a file:// repository"
  init_cluster P
  start_cluster P
  setup_schema P
  basebackup P backups/base
  load P 3 a
  sql P "SELECT pg_create_restore_point('mid')" >/dev/null
  load P 3 b
  local seg_b
  seg_b=$(switch_wal P)
  wait_archived P "$seg_b"
  local markers_f sum_f
  markers_f=$(markers P)
  sum_f=$(checksum P)
  stop_cluster P # idle from here: nothing is archived while the repository is away

  recover_to_mid_and_shut_down R
  expect_eq "R is shut down in recovery" "$(cluster_state R)" "shut down in recovery"

  mv "$REPO_DIR" "$REPO_DIR.unmounted"
  local d
  d=$(scratch fake-data)
  as_pg touch "$d/recovery.signal"
  wf --cwd "$d" archive-get "$seg_b" pg_wal/RECOVERYXLOG
  log "archive-get with the repository's directory gone: exit $WF_RC; walferry said: ${WF_ERR:-nothing}"
  append_conf R "recovery_target_name = ''
recovery_target_action = 'promote'"
  start_cluster R no-wait
  wait_until 120 "R stops or ends recovery" r_settled
  local rlog
  rlog=$(last_log R)
  expect_no_match "R did not end recovery without its repository" "$rlog" 'selected new timeline|archive recovery complete'
  expect_match "R's recovery stopped: FATAL, archive-get exited 200" "$rlog" \
    'FATAL: +could not restore file "[0-9A-F.a-z]+" from archive: child process exited with exit code 200'
  expect_eq "R is still in archive recovery, on timeline 1" "$(cluster_state R)/$(timeline_of R)" "shut down in recovery/1"
  expect_eq "archive-get in archive recovery with the repository gone: exit 200" "$WF_RC" 200

  mv "$REPO_DIR.unmounted" "$REPO_DIR"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_eq "R has P's final marker rows" "$(markers R)" "$markers_f"
  expect_eq "R's pgbench tables equal P's" "$(checksum R)" "$sum_f"
}
# r_settled: R has exited, or ended recovery
r_settled() { postmaster_exited R || last_log R | grep -q 'archive recovery complete'; }
