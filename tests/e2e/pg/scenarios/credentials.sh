# shellcheck shell=bash
# Temporary credentials from a real STS (issue 13): the whole archive, backup and restore
# cycle with no key in walferry's config, only the role of a ~/.aws profile, assumed through
# radosgw's STS (scripts/s3-server/start.sh runs a gateway with STS on, URL in
# $WALFERRY_TEST_S3_DIR/sts-endpoint, and writes the role's ARN to sts-role-arn there). PostgreSQL's archive_command and restore_command find
# the same files through HOME, as they would on a real host.

# use_sts_profile : rewrite the walferry config without keys; ~/.aws files with a role
use_sts_profile() {
  local arn_file=${WALFERRY_TEST_S3_DIR:-}/sts-role-arn
  [ -s "$arn_file" ] ||
    fail "$arn_file missing: the test S3 server has no STS role (made by an older start.sh? remove its directory)"
  local role
  role=$(cat "$arn_file")
  STS_ENDPOINT=$(cat "$WALFERRY_TEST_S3_DIR/sts-endpoint")
  grep -v '^s3-access-key-id\|^s3-secret-access-key\|^s3-endpoint\|^s3-ca-file' "$CONF" >"$CONF.new"
  printf 's3-endpoint = %s\ns3-sts-endpoint = %s\n' "$STS_ENDPOINT" "$STS_ENDPOINT" >>"$CONF.new"
  mv "$CONF.new" "$CONF"
  chmod 600 "$CONF"
  mkdir -p "$T/.aws"
  printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$WALFERRY_TEST_S3_ACCESS_KEY" "$WALFERRY_TEST_S3_SECRET_KEY" >"$T/.aws/credentials"
  printf '[default]\nrole_arn = %s\nsource_profile = base\nrole_session_name = e2e-pg\nduration_seconds = 900\n' \
    "$role" >"$T/.aws/config"
  chmod 600 "$T/.aws/credentials" "$T/.aws/config"
  own "$T/.aws" "$CONF"
}

scenario_sts_backup() {
  [ "$BACKEND" = s3 ] || fail "sts_backup needs the s3 backend"
  use_sts_profile
  wf check
  expect_eq "check passes with the assumed role" "$WF_RC" 0
  expect_match "check names the role and STS" "$WF_OUT" "assumed through STS AssumeRole at $STS_ENDPOINT"
  expect_match "check says the credentials are temporary" "$WF_OUT" 'temporary until [0-9T:-]+Z'
  expect_no_match "check never prints the secret" "$WF_OUT$WF_ERR" "$WALFERRY_TEST_S3_SECRET_KEY"
  init_cluster P
  start_cluster P
  setup_schema P
  push_backup P --parallel 2
  load P 2 before-target
  sleep 0.2
  TARGET=$(sql P 'SELECT clock_timestamp()')
  SUM_T=$(checksum P)
  MARKERS_T=$(markers P)
  sleep 0.2
  load P 1 after-target
  LAST_SEG=$(switch_wal P)
  wait_archived P "$LAST_SEG" 120
  expect_no_match "no archive_command failure in P's log" "$(log_of P)" 'archive command failed'
  restore_cluster LATEST R --target-time "$TARGET" --target-action promote --parallel 2
  start_cluster R
  wait_until 180 "R finishes recovery" not_in_recovery R
  expect_match "WAL was read through restore_command" "$(log_of R)" 'restored log file "[0-9A-F]{24}" from archive'
  expect_eq "marker rows: exactly those committed up to the target" "$(markers R)" "$MARKERS_T"
  expect_eq "pgbench tables equal the checksum taken at the target" "$(checksum R)" "$SUM_T"
}
