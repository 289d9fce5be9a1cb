# shellcheck shell=bash
# Client-side encryption (issue 11), what is built so far: repo-create --encryption on a real
# cluster writes a format-2 identity and the first key generation wrapped under the KEK; the
# key is checked on every repo-create; and since the commands have no encryption stage yet,
# archive-push refuses the encrypted repository (exit 9) and stores nothing in it.

# new_kek FILE : a KEK file as the docs say to make one, mode 600, owned by postgres
new_kek() {
  printf 'hex:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$1"
  chmod 600 "$1"
  own "$1"
}

archiver_has_failed() { [ "$(archiver_failures P)" -gt 0 ]; }

scenario_encrypted_create() {
  init_cluster P no-repo
  local d
  d=$(datadir P)
  wf_expect "repo-create --encryption without a key is a usage error" 2 --cwd "$d" repo-create --encryption
  expect_match "it says a key is needed" "$WF_ERR" 'needs a key-encryption key'

  new_kek "$T/kek"
  new_kek "$T/other-kek"
  printf 'encryption-key-file = %s\n' "$T/kek" >>"$CONF"
  wf_expect "a configured key without --encryption is refused" 2 --cwd "$d" repo-create
  expect_match "it names --encryption" "$WF_ERR" 'not given --encryption'

  wf_expect "repo-create --encryption with the key file" 0 --cwd "$d" repo-create --encryption
  expect_match "it reports an encrypted repository, generation 1" "$WF_OUT" \
    'encrypted \(aes-256-gcm\), repository id [0-9a-f]{32}, key generation 1'
  expect_no_match "the key is not printed" "$WF_OUT$WF_ERR" "$(sed 's/^hex://' "$T/kek")"
  wf_expect "repo-create again with the same key: it exists" 0 --cwd "$d" repo-create --encryption
  expect_match "it already belongs to this cluster" "$WF_OUT" 'already belongs to'
  wf_expect "repo-create with another KEK: authentication error" 4 --cwd "$d" \
    --encryption-key-file "$T/other-kek" repo-create --encryption
  expect_match "the error names the key source" "$WF_ERR" "encryption-key-file '$T/other-kek'"

  if [ "$BACKEND" = file ]; then
    expect_match "the identity file is format 2, aes-256-gcm" "$(cat "$REPO_DIR/walferry.repo")" \
      '"encryption": "aes-256-gcm"'
    expect_file "generation 1 is stored" "$REPO_DIR/keys/gen-000001.json"
    expect_file "and its copy" "$REPO_DIR/keys/gen-000001.copy.json"
  fi

  # No command writes plaintext into the encrypted repository.
  start_cluster P
  sql P 'CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g' >/dev/null
  local seg
  seg=$(switch_wal P)
  wait_until 30 "the archiver has failed at least once" archiver_has_failed
  wf_expect "archive-push into the encrypted repository is refused" 9 --cwd "$d" archive-push "pg_wal/$seg"
  expect_match "it says the repository is encrypted" "$WF_ERR" 'is encrypted'
  if [ "$BACKEND" = file ]; then
    expect_no_file "nothing was stored under wal/" "$REPO_DIR/wal"
  fi
  stop_cluster P immediate
}
