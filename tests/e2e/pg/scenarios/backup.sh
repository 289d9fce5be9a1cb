# shellcheck shell=bash
# Base backups with walferry alone: backup-push, backup-list, backup-fetch (issue 5, item 6).

# push_backup CLUSTER [ARGS...] : walferry backup-push against CLUSTER; sets BACKUP_NAME
push_backup() {
  local name=$1
  shift
  # trust authentication ignores the password: it is there to prove it is never printed
  wf backup-push --fast --pg-conninfo "host=$T/$name port=${PORT[$name]} dbname=postgres password=sekret-e2e" "$@"
  [ "$WF_RC" -eq 0 ] || fail "backup-push of $name exited $WF_RC: $WF_ERR"
  BACKUP_NAME=$(sed -n 's/^backup \([^:]*\): .*/\1/p' <<<"$WF_OUT")
  [ -n "$BACKUP_NAME" ] || fail "backup-push printed no summary line: $WF_OUT"
  expect_match "backup-push's summary line has the rate" "$WF_OUT" '[0-9.]+ [KMG]?i?B/s'
  expect_no_match "backup-push never prints the conninfo's password" "$WF_OUT$WF_ERR" "sekret"
  log "$WF_OUT"
}

# restore_cluster BACKUP NAME [ARGS...] : backup-fetch BACKUP into $T/NAME/data, then the
# harness settings (own socket and port) and archive_mode off (the copy's new timeline stays
# out of the repository)
restore_cluster() {
  local backup=$1 name=$2
  shift 2
  mkdir -p "$T/$name"
  own "$T/$name"
  wf backup-fetch "$backup" "$(datadir "$name")" "$@"
  [ "$WF_RC" -eq 0 ] || fail "backup-fetch $backup exited $WF_RC: $WF_ERR"
  expect_match "backup-fetch's summary line has the rate" "$WF_OUT" 'verified, in [0-9.]+ s, [0-9.]+ [KMG]?i?B/s'
  log "$WF_OUT"
  new_port "$name"
  append_conf "$name" "$(cluster_settings "$name")
archive_mode = off"
}

# list_json JQ : JQ over backup-list --json
list_json() {
  wf backup-list --json
  [ "$WF_RC" -eq 0 ] || fail "backup-list --json exited $WF_RC: $WF_ERR"
  jq -r "$1" <<<"$WF_OUT"
}
# backup_json FIELD : FIELD of the newest backup in backup-list --json
backup_json() { list_json ".backups[-1].$1"; }

scenario_backup_pitr() {
  E2E_INITDB_ARGS=--data-checksums init_cluster P
  start_cluster P
  setup_schema P
  (load P 8 during-backup) &
  local loader=$!
  BG_PIDS+=("$loader")
  sleep 2
  push_backup P --parallel 3
  wait "$loader" || fail "load during the backup failed"
  expect_no_match "no corrupt page reported" "$WF_OUT$WF_ERR" 'CORRUPT|checksum mismatch'
  # backup-list: human and JSON
  wf backup-list
  expect_match "backup-list names the backup" "$WF_OUT" "^$BACKUP_NAME "
  expect_eq "backup-list --json: name" "$(backup_json name)" "$BACKUP_NAME"
  expect_eq "backup-list --json: one backup" "$(list_json '.backups | length')" 1
  expect_eq "backup-list --json: system identifier" "$(backup_json system_identifier)" \
    "$(as_pg pg_controldata "$(datadir P)" | sed -n 's/^Database system identifier: *//p')"
  expect_eq "backup-list --json: timeline" "$(backup_json timeline)" 1
  expect_eq "backup-list --json: PostgreSQL version" "$(backup_json pg_version)" 15
  expect_match "backup-list --json: stop WAL" "$(backup_json stop_wal)" '^00000001[0-9A-F]{16}$'
  expect_match "backup-list --json: sizes" "$(backup_json 'original_bytes > .stored_bytes')" true
  wf archive-get "$(backup_json stop_wal)" "$T/stop.seg"
  expect_eq "the stop segment was in the repository when backup-push returned" "$WF_RC" 0

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
  local d
  d=$(datadir R)
  expect_eq "restored pg_wal holds no WAL" "$(ls "$d/pg_wal")" archive_status
  expect_no_file "no postmaster.pid restored" "$d/postmaster.pid"
  expect_file "backup_label restored" "$d/backup_label"
  expect_file "recovery.signal written" "$d/recovery.signal"
  expect_match "restore_command is walferry's" "$(cat "$d/postgresql.auto.conf")" "restore_command = '''$BIN'' --config ''$CONF''.* archive-get %f %p'"
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  local rlog
  rlog=$(log_of R)
  expect_match "recovery stopped at the target time" "$rlog" 'recovery stopping before commit of transaction [0-9]+, time '
  expect_match "WAL was read through restore_command" "$rlog" 'restored log file "[0-9A-F]{24}" from archive'
  expect_no_match "no restore_command failure in R's log" "$rlog" 'could not restore|FATAL'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "no marker row after the target" "$(sql R "SELECT count(*) FROM marker WHERE ts > '$TARGET'")" 0
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
  expect_eq "R was promoted to timeline 2" "$(sql R 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')" 00000002
  sql R 'SELECT count(*) FROM pg_class' >/dev/null
}

scenario_backup_tablespace() {
  init_cluster P
  mkdir -p "$T/ts1"
  own "$T/ts1"
  start_cluster P
  sql P "CREATE TABLESPACE ts1 LOCATION '$T/ts1'"
  sql P "CREATE TABLE t (id int PRIMARY KEY, v text) TABLESPACE ts1"
  sql P "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
  local oid
  oid=$(sql P "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'")
  push_backup P
  expect_eq "backup-list --json: the tablespace" "$(backup_json 'tablespaces[0] | "\(.oid) \(.name) \(.location)"')" "$oid ts1 $T/ts1"
  sql P "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(20001, 30000) g"
  local want
  want=$(sql P "SELECT count(*), md5(string_agg(v, ',' ORDER BY id)) FROM t")
  wait_archived P "$(switch_wal P)" 60
  local before
  before=$(find "$T/ts1" | sort | md5sum)
  # the original location is in use: restoring there is refused
  mkdir -p "$T/R"
  own "$T/R"
  wf backup-fetch LATEST "$(datadir R)"
  expect_eq "restoring into the non-empty original tablespace directory is refused" "$WF_RC" 2
  expect_match "the refusal says where and how to remap" "$WF_ERR" "tablespace-map"
  mkdir -p "$T/ts1-new"
  own "$T/ts1-new"
  restore_cluster LATEST R --tablespace-map "ts1=$T/ts1-new"
  expect_eq "pg_tblspc/$oid points to the remapped directory" "$(readlink "$(datadir R)/pg_tblspc/$oid")" "$T/ts1-new"
  expect_match "tablespace_map names the remapped directory" "$(cat "$(datadir R)/tablespace_map")" "^$oid $T/ts1-new$"
  expect_eq "the original tablespace directory was not touched" "$(find "$T/ts1" | sort | md5sum)" "$before"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_eq "the table in the tablespace is complete" "$(sql R "SELECT count(*), md5(string_agg(v, ',' ORDER BY id)) FROM t")" "$want"
  expect_eq "R's tablespace lives in the remapped directory" "$(sql R "SELECT pg_tablespace_location($oid)")" "$T/ts1-new"
  expect_no_match "no FATAL in R's log" "$(log_of R)" 'FATAL'
}

scenario_backup_standby() {
  init_cluster P
  append_conf P "wal_keep_size = 256MB"
  start_cluster P
  setup_schema P
  basebackup P backups/base
  cluster_from_backup backups/base S
  append_conf S "primary_conninfo = 'host=$T/P port=${PORT[P]} dbname=postgres'"
  as_pg touch "$(datadir S)/standby.signal"
  start_cluster S
  load P 3 before
  wait_until 60 "S replays the load" replay_reached S "$(current_lsn P)"
  # the standby's stop segment is archived by the primary once it is complete
  (for _ in $(seq 1 120); do
    sql_ok P "SELECT pg_logical_emit_message(false, 'e2e', 'tick'); SELECT pg_switch_wal()"
    sleep 1
  done) &
  local switcher=$!
  BG_PIDS+=("$switcher")
  push_backup S --archive-wait 120
  kill "$switcher" 2>/dev/null || true
  expect_match "backup-push says it was a standby" "$WF_OUT" 'from a standby'
  expect_eq "backup-list --json: from_standby" "$(backup_json from_standby)" true
  load P 2 after
  local sum markers
  sum=$(checksum P)
  markers=$(markers P)
  wait_archived P "$(switch_wal P)" 60
  restore_cluster "$BACKUP_NAME" R
  expect_no_file "no standby.signal restored" "$(datadir R)/standby.signal"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_eq "R has the primary's final pgbench tables" "$(checksum R)" "$sum"
  expect_eq "R has the primary's final marker rows" "$(markers R)" "$markers"
  expect_no_match "no FATAL in R's log" "$(log_of R)" 'FATAL'
}

# tamper_manifest JQ : rewrites the stored manifest of $BACKUP_NAME with JQ (file:// repository)
tamper_manifest() {
  local f=$REPO_DIR/backup/$BACKUP_NAME/manifest.json
  jq "$1" "$ORIG_MANIFEST" >"$f.new" && mv "$f.new" "$f"
}

# fetch_refused DESC JQ|- ERE : backup-fetch of the tampered backup exits 7 naming ERE, and
# writes nothing outside DEST
fetch_refused() {
  local desc=$1 edit=$2 ere=$3
  [ "$edit" = - ] || tamper_manifest "$edit"
  rm -rf "$T/dest"
  wf backup-fetch "$BACKUP_NAME" "$T/dest"
  expect_eq "$desc: backup-fetch exits 7" "$WF_RC" 7
  expect_match "$desc: the error says what" "$WF_ERR" "$ere"
  expect_eq "$desc: nothing written outside DEST" "$({ find "$T/outside" "$T/escape" /tmp/wf-e2e-escape 2>/dev/null || true; } | wc -l)" 1
  cp "$ORIG_MANIFEST" "$REPO_DIR/backup/$BACKUP_NAME/manifest.json"
}

scenario_backup_tamper() {
  E2E_INITDB_ARGS=--data-checksums init_cluster P
  start_cluster P
  sql P "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
  # a corrupt page (one byte flipped in block 1 of t, server stopped): reported, backup kept
  local rel
  rel=$(sql P "SELECT pg_relation_filepath('t')")
  sql P "CHECKPOINT" >/dev/null
  stop_cluster P
  python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[8192+5000]^=0x10; open(p,'wb').write(b)" "$(datadir P)/$rel"
  start_cluster P
  push_backup P
  expect_match "the corrupt page is reported with file and block" "$WF_ERR" "page checksum mismatch in '$rel' block 1"
  expect_match "the summary line counts it" "$WF_OUT" '1 CORRUPT PAGES'
  ORIG_MANIFEST=$T/manifest.orig
  cp "$REPO_DIR/backup/$BACKUP_NAME/manifest.json" "$ORIG_MANIFEST"
  mkdir -p "$T/outside"
  own "$T/outside"
  local i
  i=$(jq '[.files[] | .path] | index("PG_VERSION")' "$ORIG_MANIFEST")
  fetch_refused "path with .." ".files[$i].path = \"../escape\"" "files\\[$i\\]\\.path.*'\\.\\.'"
  fetch_refused "absolute path" ".files[$i].path = \"/tmp/wf-e2e-escape\"" "files\\[$i\\]\\.path.*absolute"
  fetch_refused "write through a link" \
    ".files += [{path: \"lnk\", type: \"link\", mode: 511, mtime: 1, target: \"$T/outside\"}] | .files[$i].path = \"lnk/PG_VERSION\"" \
    "inside the link 'lnk'"
  fetch_refused "object key outside the backup" ".objects[0].key = \"walferry.repo\"" 'objects\[0\]\.key'
  fetch_refused "wrong file checksum" ".files[$i].sha256 = \"$(printf '0%.0s' {1..64})\"" "'PG_VERSION'.*SHA-256"
  expect_no_file "the file with the wrong checksum was not put in place" "$T/dest/PG_VERSION"
  # a damaged data object (one byte flipped in the middle)
  local obj
  obj=$REPO_DIR/$(jq -r '.objects[0].key' "$ORIG_MANIFEST")
  cp "$obj" "$T/obj.orig"
  python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "$obj"
  fetch_refused "damaged data object" - "corruption: .*$(jq -r '.objects[0].key' "$ORIG_MANIFEST")"
  cp "$T/obj.orig" "$obj"
  # DEST not empty: refused without --force; with --force a symlink in DEST is replaced, not followed
  rm -rf "$T/dest"
  mkdir -p "$T/dest"
  ln -s "$T/outside" "$T/dest/global"
  own "$T/dest"
  wf backup-fetch "$BACKUP_NAME" "$T/dest"
  expect_eq "a non-empty DEST is refused" "$WF_RC" 2
  expect_match "the refusal names DEST" "$WF_ERR" "'$T/dest' is not an empty directory"
  expect_match "the refusal's hint names --force" "$WF_ERR" "HINT: .*--force"
  wf backup-fetch "$BACKUP_NAME" "$T/dest" --force
  expect_eq "with --force the restore succeeds" "$WF_RC" 0
  expect_eq "the symbolic link in DEST was replaced, not followed" "$(find "$T/outside" | wc -l)" 1
  expect_file "global/pg_control restored in DEST" "$T/dest/global/pg_control"
  cmp -s "$T/dest/PG_VERSION" "$(datadir P)/PG_VERSION" || fail "PG_VERSION differs"
  ok "restored PG_VERSION equals the original"
}
