# shellcheck shell=bash
# Base backups of a data directory with hostile file names (issue 10): a name with a
# newline, one that is not UTF-8, and an empty file X beside a file X.wf-fetch. backup-push
# must store a manifest its own reader accepts, backup-list / LATEST / verify / delete must
# keep working, and backup-fetch must restore every file, byte for byte, into a cluster
# that starts. Also: a damaged manifest beside a good one, and an interrupted restore.
# Uses push_backup and list_json from backup.sh.

scenario_backup_hostile_names() {
  init_cluster P
  start_cluster P
  sql P "CREATE TABLE t AS SELECT g FROM generate_series(1, 5000) g"
  local d
  d=$(datadir P)
  printf 'newline\n' >"$d/$(printf 'ctl\nname')"
  printf 'latin1\n' >"$d/$(printf 'caf\xe9')"
  printf 'tab\n' >"$d/$(printf 'a\tb')"
  : >"$d/X"
  printf 'must survive\n' >"$d/X.wf-fetch"
  printf 'staging\n' >"$d/.walferry-fetch-staging"
  mkdir -p "$d/$(printf 'dir\001')"
  printf 'inside\n' >"$d/$(printf 'dir\001')/$(printf '\xff\xfe')"
  own "$d"
  push_backup P
  expect_eq "the manifest uses format 2 (path_b64) for the names that need it" \
    "$(jq -r .format "$REPO_DIR/backup/$BACKUP_NAME/manifest.json")" 2
  wf backup-list
  expect_eq "backup-list works after a push of hostile names" "$WF_RC" 0
  expect_match "backup-list names the backup" "$WF_OUT" "^$BACKUP_NAME "
  wf verify --wal-check header
  expect_eq "verify accepts the backup" "$WF_RC" 0
  wait_archived P "$(switch_wal P)" 60
  local want
  want=$(sql P "SELECT count(*), sum(g) FROM t")
  # A second backup with a damaged manifest does not hide the first.
  mkdir -p "$REPO_DIR/backup/29990101T000000Z"
  printf '{"format": 1, "name": ' >"$REPO_DIR/backup/29990101T000000Z/manifest.json"
  wf backup-list
  expect_eq "backup-list with a damaged manifest still exits 0" "$WF_RC" 0
  expect_match "backup-list shows the damaged backup and why" "$WF_OUT" "DAMAGED 29990101T000000Z: .*not valid JSON"
  expect_match "backup-list still lists the good backup" "$WF_OUT" "^$BACKUP_NAME "
  wf delete --retain-full 1
  expect_eq "delete (dry run) still runs" "$WF_RC" 0
  expect_match "delete keeps the damaged backup and all WAL" "$WF_OUT" "damaged  29990101T000000Z"
  # An interrupted restore (killed mid-way) leaves no global/pg_control: PostgreSQL
  # cannot start from it as if it were complete.
  mkdir -p "$T/R"
  own "$T/R"
  wf backup-fetch LATEST "$(datadir R)"
  expect_eq "backup-fetch LATEST skips the damaged backup" "$WF_RC" 0
  expect_match "and says so" "$WF_ERR" "LATEST skips backup '29990101T000000Z'"
  local f
  for f in "$(printf 'ctl\nname')" "$(printf 'caf\xe9')" "$(printf 'a\tb')" X X.wf-fetch \
    .walferry-fetch-staging "$(printf 'dir\001')/$(printf '\xff\xfe')"; do
    cmp -s "$d/$f" "$(datadir R)/$f" || fail "restored '$f' differs from the original"
  done
  ok "every hostile name restored byte for byte (X.wf-fetch beside an empty X included)"
  expect_eq "no staging directory left behind" \
    "$(find "$(datadir R)" -maxdepth 1 -name '.walferry-fetch-staging*' -type d | wc -l)" 0
  new_port R
  append_conf R "$(cluster_settings R)
archive_mode = off"
  start_cluster R
  wait_until 120 "R finishes recovery" not_in_recovery R
  expect_eq "the restored cluster has the table" "$(sql R "SELECT count(*), sum(g) FROM t")" "$want"
  stop_cluster R
  # Interrupted: a restore into a fresh DEST whose repository object for pg_control's
  # bundle is missing fails; DEST has no global/pg_control.
  rm -rf "$REPO_DIR/backup/29990101T000000Z"
  local key
  key=$(jq -r '[.files[] | select(.path == "global/pg_control")][0].object as $o | .objects[$o].key' \
    "$REPO_DIR/backup/$BACKUP_NAME/manifest.json")
  mv "$REPO_DIR/$key" "$T/control.obj"
  mkdir -p "$T/I"
  own "$T/I"
  wf backup-fetch "$BACKUP_NAME" "$T/I/data"
  expect_eq "a restore that cannot complete fails with corruption" "$WF_RC" 7
  expect_no_file "and leaves no global/pg_control" "$T/I/data/global/pg_control"
  if as_pg pg_ctl -D "$T/I/data" -o "-p $((PORT[R] + 1)) -k $T/I" -l "$T/I/log" -w -t 20 start >/dev/null 2>&1; then
    as_pg pg_ctl -D "$T/I/data" -m immediate stop >/dev/null 2>&1 || true
    fail "PostgreSQL started from an incomplete restore"
  fi
  ok "PostgreSQL refuses to start from the incomplete restore"
  mv "$T/control.obj" "$REPO_DIR/$key"
  # Not a repository: exit 11, and no DEST created.
  wf --repo "file://$T/no-such-repo" backup-list
  expect_eq "backup-list of a missing repository says wrong-repository" "$WF_RC" 11
  wf --repo "file://$T/no-such-repo" backup-fetch LATEST "$T/N"
  expect_eq "backup-fetch LATEST of a missing repository says wrong-repository" "$WF_RC" 11
  expect_no_file "and creates no DEST" "$T/N"
  # libpq failures map to stable exit codes; no dbname means 'postgres' (as pgBackRest).
  local ci="host=$T/P port=${PORT[P]}"
  wf backup-push --pg-conninfo "$ci user=no_such_role"
  expect_eq "an unknown role is an authentication failure (4), not unreachable" "$WF_RC" 4
  wf backup-push --pg-conninfo "$ci dbname=no_such_db"
  expect_eq "an unknown database is a usage error (2), not unreachable" "$WF_RC" 2
  expect_match "and says which database" "$WF_ERR" 'database "no_such_db" does not exist'
  wf backup-push --pg-conninfo "$ci sslmode=bogus"
  expect_eq "a bad sslmode is a usage error (2)" "$WF_RC" 2
  wf backup-push --pg-conninfo "$ci password=hunter2 secret-part"
  expect_eq "a conninfo that does not parse is a usage error (2)" "$WF_RC" 2
  expect_no_match "its message never echoes the password" "$WF_OUT$WF_ERR" "secret-part"
  sql P "CREATE ROLE wf_backup_role SUPERUSER LOGIN" >/dev/null
  wf backup-push --fast --pg-conninfo "$ci user=wf_backup_role"
  expect_eq "without a dbname backup-push connects to 'postgres' (no database wf_backup_role)" "$WF_RC" 0
}
