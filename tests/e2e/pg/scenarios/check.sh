# shellcheck shell=bash
# walferry check through PostgreSQL (issue 13, item 4): the settings in plain words, and the
# archive round trip through the real archive_command (pg_switch_wal, pg_stat_archiver, the
# segment in the repository, read back through archive-get).

# wf_check ENV... -- ARGS... : walferry check as postgres with a clean environment plus ENV
# (PG* variables), TMPDIR=$T/tmp (so that the read-back copy can be seen to go); sets WF_RC,
# WF_OUT, WF_ERR
wf_check() {
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  mkdir -p "$T/tmp" && own "$T/tmp"
  WF_RC=0
  (cd "$T" && "${RUNAS[@]}" env -i PATH=/usr/bin:/bin HOME="$T" LC_ALL=C TZ=UTC TMPDIR="$T/tmp" \
    "${envs[@]}" "$BIN" --config "$CONF" check "$@") >"$T/check.out" 2>"$T/check.err" </dev/null || WF_RC=$?
  WF_OUT=$(cat "$T/check.out") WF_ERR=$(cat "$T/check.err")
}

# check_expect DESC RC ARGS... : wf_check with the cluster P's conninfo; fail unless exit RC
check_expect() {
  local desc=$1 want=$2
  shift 2
  wf_check -- --pg-conninfo "host=$T/P port=${PORT[P]} dbname=postgres" "$@"
  [ "$WF_RC" -eq "$want" ] || fail "$desc: check exited $WF_RC, expected $want; stdout: $WF_OUT; stderr: $WF_ERR"
  ok "$desc (exit $WF_RC)"
}

# set_archive_command CMD : ALTER SYSTEM + reload, and wait until the server uses it
set_archive_command() {
  sql P "ALTER SYSTEM SET archive_command = '${1//\'/\'\'}'" >/dev/null
  sql P 'SELECT pg_reload_conf()' >/dev/null
  wait_until 10 "archive_command reloaded" test "$(sql P 'SHOW archive_command')" = "$1"
}

scenario_check() {
  init_cluster P
  start_cluster P
  sql P 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g' >/dev/null

  # 1. The example settings: the round trip passes, by conninfo and by PG* variables.
  check_expect "check through PostgreSQL with the example archive_command" 0
  log "$WF_OUT"
  expect_match "connected to a primary" "$WF_OUT" '^postgresql: connected to .*, version 15\.[0-9]+, a primary$'
  expect_match "archive_mode in plain words" "$WF_OUT" "^postgresql: archive_mode ok: archive_mode is 'on'"
  expect_match "archive_command recognised" "$WF_OUT" '^postgresql: archive_command ok: archive_command calls walferry archive-push %p'
  expect_match "restore_command recognised" "$WF_OUT" '^postgresql: restore_command ok: '
  local seg
  seg=$(sed -n 's/^postgresql: switch wal ok (.*; segment \([0-9A-F]\{24\}\) completed).*/\1/p' <<<"$WF_OUT")
  [ -n "$seg" ] || fail "check named no switched segment: $WF_OUT"
  expect_match "the archiver archived it" "$WF_OUT" "^postgresql: archiver ok \(.*pg_stat_archiver: last archived [0-9A-F]{24}"
  expect_match "found in the repository" "$WF_OUT" "^postgresql: segment in repository ok \(.*'wal/${seg:0:16}/$seg'"
  expect_match "read back, verified" "$WF_OUT" '^postgresql: read back ok \(.*16777216 bytes, size and sha256 verified'
  expect_match "check ok" "$WF_OUT" '^check ok$'
  expect_eq "PostgreSQL archived that segment itself" "$(sql P "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" t
  expect_eq "the read-back copy was removed" "$(find "$T/tmp" -mindepth 1 | wc -l)" 0
  fetch "$seg" "$T/fetched/$seg"
  expect_eq "archive-get returns the segment check found" "$(stat -c %s "$T/fetched/$seg")" 16777216

  wf_check PGHOST="$T/P" PGPORT="${PORT[P]}" PGDATABASE=postgres -- --json
  expect_match "nothing written since: nothing switched" "$(jq -r '.steps[] | select(.step == "switch wal") | .detail' <<<"$WF_OUT")" \
    "^no WAL since the last switch, nothing switched; last completed segment $seg\$"
  expect_eq "PG* variables select the server: exit" "$WF_RC" 0
  expect_eq "--json: ok" "$(jq -r .ok <<<"$WF_OUT")" true
  expect_eq "--json: round trip" "$(jq -r .postgresql.round_trip <<<"$WF_OUT")" ok
  expect_eq "--json: archive_mode" "$(jq -r .postgresql.settings.archive_mode <<<"$WF_OUT")" on
  expect_eq "--json: no error finding" "$(jq -r '[.postgresql.findings[] | select(.severity == "error")] | length' <<<"$WF_OUT")" 0
  expect_eq "--json: read back step" "$(jq -r '[.steps[] | select(.step == "read back" and .ok)] | length' <<<"$WF_OUT")" 1

  wf_check PGHOST="$T/P" PGPORT="${PORT[P]}" -- --no-pg
  expect_eq "--no-pg: the repository alone" "$WF_RC" 0
  expect_no_match "--no-pg: no PostgreSQL line" "$WF_OUT" '^postgresql:'

  # 2. Another repository than archive_command's (never created): exit 11 before any switch.
  local switched
  switched=$(sql P 'SELECT pg_current_wal_lsn()')
  check_expect "check of a repository archive_command does not use" 11 --repo "$REPO_URL-other"
  expect_match "the repository is named" "$WF_ERR" "no walferry repository at .*-other"
  expect_match "and the overridden repo is a warning" "$WF_OUT" "archive_command warning: .*comes from its command line"
  expect_no_match "no switch for a wrong repository" "$WF_OUT" '^postgresql: switch wal'

  # 3. archive_command calls walferry with our config but fails (a bad option value): the
  #    archiver's failure is reported from pg_stat_archiver, exit 3.
  set_archive_command "$BIN --config $CONF --log-level loud archive-push %p"
  sql P 'INSERT INTO t SELECT g FROM generate_series(1, 1000) g' >/dev/null  # WAL to switch
  check_expect "archive_command that fails" 3 --archive-wait 60
  expect_match "the archiver's failure, with the file and time" "$WF_ERR" "archiver failed to archive '[0-9A-F]{24}' at 20[0-9-]+ [0-9:.]+"
  expect_match "HINT: PostgreSQL's log" "$WF_ERR" "HINT: PostgreSQL's log has archive_command's own error"
  expect_match "walferry's own error is in PostgreSQL's log" "$(log_of P)" "invalid value 'loud' for 'log-level'"

  # 4. archive_command = 'false': exit 2 in plain words, no pg_switch_wal.
  set_archive_command false
  local before
  before=$(sql P 'SELECT pg_walfile_name(pg_current_wal_lsn())')
  check_expect "archive_command = 'false'" 2
  expect_match "says it does not call walferry" "$WF_OUT" "archive_command error: archive_command 'false' does not call walferry"
  expect_match "the hint gives the command" "$WF_OUT" "HINT: set archive_command = 'walferry --config $CONF archive-push %p'"
  expect_match "error on stderr" "$WF_ERR" "usage error: PostgreSQL's archive_command: archive_command 'false' does not call walferry"
  expect_match "round trip not tried" "$WF_OUT" 'archive round trip not tried'
  expect_eq "no segment switched" "$(sql P 'SELECT pg_walfile_name(pg_current_wal_lsn())')" "$before"

  # 5. Another --config than check's: exit 2, both files named.
  set_archive_command "$BIN --config /etc/walferry-other.conf archive-push %p"
  check_expect "archive_command with another --config" 2
  expect_match "names both config files" "$WF_OUT" "archive_command error: archive_command gives walferry --config '/etc/walferry-other.conf', check read config file '$CONF'"

  # 6. archive_mode off (restart): exit 2.
  set_archive_command "$(example_settings | sed -n "s/^archive_command = '\(.*\)'$/\1/p")"
  sql P "ALTER SYSTEM SET archive_mode = off" >/dev/null
  stop_cluster P
  start_cluster P
  check_expect "archive_mode off" 2
  expect_match "archive_mode off in plain words" "$WF_OUT" "archive_mode error: archive_mode is off: PostgreSQL archives no WAL at all"
  expect_match "HINT: restart" "$WF_OUT" 'HINT: set archive_mode = on in postgresql.conf and restart PostgreSQL'

  # 7. Back to the example: passes again (the failed segments were archived meanwhile).
  sql P "ALTER SYSTEM RESET archive_mode" >/dev/null
  stop_cluster P
  start_cluster P
  check_expect "the example settings again" 0 --archive-wait 120
  expect_match "round trip ok again" "$WF_OUT" '^postgresql: read back ok'
  [ -n "$switched" ]
}
