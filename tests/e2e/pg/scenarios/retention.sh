# shellcheck shell=bash
# Retention and verification (issue 5, items 4, 5, 6 and 7): several backups with WAL in
# between, some taken by the exact commands of examples/walferry-backup.service and
# examples/walferry.cron; delete keeps what it must, verify passes, and a point-in-time
# recovery from the oldest kept backup is exact. Uses push_backup and restore_cluster
# (scenarios/backup.sh).

EXAMPLE_DIR=$SRC_ROOT/examples
EXAMPLE_WALFERRY="/usr/bin/walferry --config /etc/walferry.conf"

# example_check_units : the systemd units parse (systemd-analyze verify, with this test's
# binary in place of /usr/bin/walferry, so that the executable check means something) and the
# cron file has the form cron.d needs
example_check_units() {
  local svc=$EXAMPLE_DIR/walferry-backup.service tmr=$EXAMPLE_DIR/walferry-backup.timer
  mkdir -p "$T/units"
  sed "s|/usr/bin/walferry|$BIN|g" "$svc" >"$T/units/walferry-backup.service"
  cp "$tmr" "$T/units/walferry-backup.timer"
  if command -v systemd-analyze >/dev/null; then
    local out rc=0
    out=$(systemd-analyze verify --man=no "$T/units/walferry-backup.service" "$T/units/walferry-backup.timer" 2>&1) || rc=$?
    expect_eq "systemd-analyze verify of the example units: exit status" "$rc" 0
    expect_eq "systemd-analyze verify of the example units: no warning" "$out" ""
  else
    # no systemd: every line is a comment, a [Section] or Key=Value with a known section
    local bad
    bad=$(grep -Ev '^(#.*|\[(Unit|Service|Timer|Install)\]|[A-Z][A-Za-z]+=.*|)$' "$svc" "$tmr" || true)
    expect_eq "the example units parse (no systemd-analyze here)" "$bad" ""
  fi
  expect_eq "the service is a oneshot (ExecStart lines in order, stop at the first failure)" \
    "$(grep -cx 'Type=oneshot' "$svc")" 1
  expect_match "the timer starts it daily" "$(cat "$tmr")" 'OnCalendar=\*-\*-\* 03:00:00'
  local cron
  cron=$(grep -Ev '^[[:space:]]*(#|$)|^[A-Z_]+=' "$EXAMPLE_DIR/walferry.cron")
  expect_eq "the cron file has one job" "$(wc -l <<<"$cron")" 1
  expect_match "the cron job: five time fields, user postgres" "$cron" \
    '^([0-9*/,-]+[[:space:]]+){5}postgres[[:space:]]+/'
  expect_no_match "the cron job has no % (cron would cut the line there)" "$cron" '%'
}

# example_commands FILE : the example's command lines, with this test's binary and config
example_commands() {
  local lines
  case "$1" in
  *.service) lines=$(sed -n 's/^ExecStart=//p' "$1") ;;
  *.cron) lines=$(grep -Ev '^[[:space:]]*(#|$)|^[A-Z_]+=' "$1" | sed -E 's/^([^[:space:]]+[[:space:]]+){6}//') ;;
  esac
  grep -q "$EXAMPLE_WALFERRY" <<<"$lines" || fail "$1 does not run '$EXAMPLE_WALFERRY'"
  local repl="'$BIN' --config '$CONF'"
  echo "${lines//"$EXAMPLE_WALFERRY"/$repl}"
}

# run_example CLUSTER COMMAND_LINE : as cron or systemd would: user postgres, a clean
# environment with only PGHOST and PGPORT (the example's Environment=), through a shell
run_example() {
  local name=$1 line=$2
  sql "$name" "CHECKPOINT" >/dev/null  # the examples take a spread checkpoint: keep it short here
  WF_RC=0
  (cd "$T" && "${RUNAS[@]}" env -i PATH=/usr/bin:/bin HOME="$T" LC_ALL=C TZ=UTC \
    PGHOST="$T/$name" PGPORT="${PORT[$name]}" bash -c "$line") >"$T/ex.out" 2>"$T/ex.err" </dev/null || WF_RC=$?
  WF_OUT=$(cat "$T/ex.out") WF_ERR=$(cat "$T/ex.err")
  [ "$WF_RC" -eq 0 ] || fail "example command exited $WF_RC: $line
$WF_ERR"
  ok "example command ran: ${line//\'$BIN\' --config \'$CONF\'/walferry}"
  log "$WF_OUT"
}

# backup_names : the names of the backups in backup-list --json, oldest first, one a line
backup_names() {
  wf backup-list --json
  [ "$WF_RC" -eq 0 ] || fail "backup-list --json exited $WF_RC: $WF_ERR"
  jq -r '.backups[].name' <<<"$WF_OUT"
}

# previous_segment NAME : the 24-hex name of the segment before NAME (16 MiB segments)
previous_segment() {
  local n=$((16#${1:8:16} - 1))
  printf '%s%08X%08X' "${1:0:8}" $((n / 256)) $((n % 256))
}

scenario_backup_retention() {
  example_check_units
  init_cluster P
  start_cluster P
  setup_schema P

  push_backup P # 1
  load P 2 r1
  local line
  while IFS= read -r line; do run_example P "$line"; done < <(example_commands "$EXAMPLE_DIR/walferry-backup.service") # 2
  expect_match "the service's delete --retain-full 7 keeps both backups" "$WF_OUT" 'deleted 0 of 2 backups'
  load P 2 r2
  run_example P "$(example_commands "$EXAMPLE_DIR/walferry.cron")" # 3
  expect_match "the cron line's delete ran after its backup-push" "$WF_OUT" 'deleted 0 of 3 backups'
  load P 2 before-target
  sleep 0.2
  TARGET=$(sql P 'SELECT clock_timestamp()')
  SUM_T=$(checksum P)
  MARKERS_T=$(markers P)
  sleep 0.2
  load P 2 after-target
  push_backup P # 4
  load P 1 r4
  local last
  last=$(switch_wal P)
  wait_archived P "$last" 60

  local names
  mapfile -t names < <(backup_names)
  expect_eq "four backups" "${#names[@]}" 4
  wf backup-list --json
  local b3_start b4_start
  b3_start=$(jq -r '.backups[2].start_wal' <<<"$WF_OUT")
  b4_start=$(jq -r '.backups[3].start_wal' <<<"$WF_OUT")

  wf_expect "verify before the delete" 0 verify --json
  expect_eq "verify --json: ok" "$(jq .ok <<<"$WF_OUT")" true
  expect_eq "verify --json: every backup recoverable to the newest WAL" \
    "$(jq '[.backups[] | .recoverable_to_newest] | all' <<<"$WF_OUT")" true

  # the dry run lists and changes nothing
  wf_expect "delete --retain-full 2 (dry run)" 0 delete --retain-full 2 --json
  local plan=$WF_OUT
  expect_eq "dry run: dry_run" "$(jq .dry_run <<<"$plan")" true
  expect_eq "dry run: the two oldest go, the two newest stay" \
    "$(jq -r '[.backups[] | .name + "=" + .action] | join(" ")' <<<"$plan")" \
    "${names[0]}=delete ${names[1]}=delete ${names[2]}=keep ${names[3]}=keep"
  expect_eq "dry run: WAL goes below the oldest kept backup's start segment" "$(jq -r .wal.delete_below <<<"$plan")" "$b3_start"
  local wal_first wal_n
  wal_first=$(jq -r .wal.first <<<"$plan")
  wal_n=$(jq .wal.objects <<<"$plan")
  [ "$wal_n" -gt 0 ] || fail "dry run: no WAL to delete: $plan"
  expect_eq "dry run: still four backups" "$(backup_names | wc -l)" 4
  fetch "${wal_first##*/}" "$T/chk/first"
  ok "dry run: the first WAL object it lists is still there"

  wf_expect "delete --retain-full 2 --confirm" 0 delete --retain-full 2 --confirm --json
  expect_eq "delete: two backups deleted" "$(jq .deleted.backups <<<"$WF_OUT")" 2
  expect_eq "delete: the WAL objects of the plan deleted" "$(jq .deleted.wal_objects <<<"$WF_OUT")" "$wal_n"
  expect_eq "backup-list: the two newest remain" "$(backup_names | tr '\n' ' ')" "${names[2]} ${names[3]} "
  wf archive-get "${wal_first##*/}" "$T/chk/x"
  expect_eq "the first deleted WAL object is gone (archive-get exit 1)" "$WF_RC" 1
  wf archive-get "$(previous_segment "$b3_start")" "$T/chk/x"
  expect_eq "the segment before the oldest kept backup is gone" "$WF_RC" 1
  fetch "$b3_start" "$T/chk/start"
  ok "the oldest kept backup's start segment is still there"
  wf_expect "a second delete has nothing left to do" 0 delete --retain-full 2 --confirm
  expect_match "second delete: nothing" "$WF_OUT" 'deleted 0 of 2 backups and 0 WAL objects'

  wf_expect "verify after the delete" 0 verify --json
  expect_eq "verify --json: ok" "$(jq .ok <<<"$WF_OUT")" true
  expect_eq "verify --json: the two kept backups" "$(jq -r '[.backups[].name] | join(" ")' <<<"$WF_OUT")" "${names[2]} ${names[3]}"
  expect_eq "verify --json: both recoverable from start to the newest WAL" \
    "$(jq '[.backups[] | .recoverable_to_stop and .recoverable_to_newest and .objects_ok] | all' <<<"$WF_OUT")" true
  expect_eq "verify --json: no gap, no corrupt object" "$(jq '[.backups[].gaps[]] + .wal.corrupt | length' <<<"$WF_OUT")" 0
  local newest
  newest=$(jq -r '.wal.newest' <<<"$WF_OUT")
  [[ "$newest" > "$last" || "$newest" == "$last" ]] || fail "verify's newest segment $newest is older than $last"
  ok "verify's newest segment ($newest) is at least the last one switched ($last)"
  wf_expect "verify (text)" 0 verify --wal-check header
  expect_match "verify says ok" "$WF_OUT" 'verify: ok: 2 backups restorable and recoverable'

  # point-in-time recovery from the oldest kept backup, to a time between it and the newest
  restore_cluster "${names[2]}" R --target-time "$TARGET" --target-action promote --parallel 3
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  local rlog
  rlog=$(log_of R)
  expect_match "recovery stopped at the target time" "$rlog" 'recovery stopping before commit of transaction [0-9]+, time '
  expect_no_match "no restore_command failure in R's log" "$rlog" 'could not restore|FATAL'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  retention_damaged_wal "$b4_start"
}

# the tail of scenario_backup_retention: verify finds a damaged WAL object (faults.sh helpers)
retention_damaged_wal() {
  local b4_start=$1 seg
  seg=$(previous_segment "$b4_start")  # in the chain of the oldest kept backup, before the newest's start
  save_object "$seg"
  corrupt_object "$seg"
  wf verify --json
  expect_eq "verify with a damaged WAL object exits 7" "$WF_RC" 7
  expect_eq "verify --json: not ok" "$(jq .ok <<<"$WF_OUT")" false
  expect_eq "verify --json: the damaged object is listed" "$(jq -r '.wal.corrupt[].key' <<<"$WF_OUT")" "$(object_key "$seg")"
  expect_eq "verify --json: a gap of that one segment in the oldest kept backup's chain" \
    "$(jq -r '.backups[0].gaps[] | "\(.first) \(.last) \(.segments)"' <<<"$WF_OUT")" "$seg $seg 1"
  expect_eq "verify --json: the oldest kept backup is still recoverable to its stop point" \
    "$(jq '.backups[0].recoverable_to_stop' <<<"$WF_OUT")" true
  expect_eq "verify --json: the newest backup does not need it" "$(jq '.backups[1].recoverable_to_newest' <<<"$WF_OUT")" true
  expect_match "verify says why on stderr" "$WF_ERR" "corruption: .*problem"
  wf verify --wal-check header
  expect_eq "verify --wal-check header does not read payloads (exit 0)" "$WF_RC" 0
  put_object "$seg" "$T/object-$seg"
  wf_expect "verify once the object is put back" 0 verify
}
