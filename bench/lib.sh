# shellcheck shell=bash
# bench/lib.sh — what every benchmark shares (sourced, never run), on top of
# scripts/common.sh, whose exit trap stops what was started, by pid, on any exit.
#
# Set BENCH_NAME (the name in progress lines) before sourcing. Afterwards the caller has
# ROOT, STARTED, S3_SCRIPTS and:
#   say MSG / die MSG            progress on stderr with the seconds since start / and exit 1
#   bench_number NAME MIN MAX    die unless the variable NAME holds a number in MIN..MAX
#   bench_port NAME...           die unless each variable NAME holds a port in 1024..65525
#   bench_need CMD...            die unless each command is installed
#   AS                           (runuser -u postgres --) when root: PostgreSQL and every timed
#                                tool run as the postgres user, as the archiver would
#   bench_tmp                    TMP (mode 755) with tools/ home/ work/ pg/sock/ corpus/ pgbr/
#   pg CMD...                    as postgres, clean environment, PGHOST/PGPORT of the cluster
#   RUN CMD...                   as postgres, the clean environment every timed call gets
#                                (env -i: no WALFERRY_*, AWS_* or PG* of the caller leaks in)
#   bench_walferry BUILD         WALFERRY_BENCH_WALFERRY, or a build (RelWithDebInfo, target
#                                walferry, no tests, no sanitizer) in BUILD; copied to WF
#   bench_s3 PORT TLS_PORT       the project's test S3 server (scripts/s3-server) in $TMP/s3:
#                                http PORT (..PORT+9), TLS TLS_PORT; ENDPOINT, CA, RGWLOG,
#                                PREFIX (a fresh key prefix), BUCKET, ACCESS, SECRET
#   walferry_conf FILE REPO_SUFFIX [LINE...]   s3://BUCKET/PREFIX/REPO_SUFFIX over TLS, zstd
#                                at LEVEL (default 3), log-level WF_LOG_LEVEL (warn), then LINEs
#   pgbackrest_conf FILE REPO_PATH DATADIR [KEY=VALUE...]   the same server, compression
#                                and certificate check for pgBackRest, stanza [bench]; each
#                                KEY=VALUE is added to [global] or replaces its default
#   bench_cluster DATADIR [LINE...]   initdb + start a throwaway PostgreSQL 15 on PG_PORT
#                                (unix socket $TMP/pg/sock only, archive_command = cp into
#                                $TMP/corpus unless a LINE sets one); stopped on exit
#   psql_1 SQL                   one statement on the cluster, tuples only
#   bench_wal_corpus SEGMENTS    pgbench -i -s SCALE, then 5-second pgbench runs, each after a
#                                CHECKPOINT (full-page images, as in production), until
#                                SEGMENTS segments were written (counted from BENCH_FROM_SEG,
#                                default 0); pg_switch_wal and wait until all are archived
#   bench_wal_names FILE N       the first N archived segment names of $TMP/corpus into FILE
#   mask_secrets FILE DEST       a copy of a tool's configuration with its secret masked
#   MACHINE                      cores, CPU model, RAM, kernel, load: for every table
# On exit: clusters are stopped (immediate), walferry workers started from $WF and
# pgBackRest async processes of this run are asked to stop, then the server; $TMP is removed
# unless WALFERRY_BENCH_KEEP=1.
# shellcheck disable=SC2034  # the variables are for the caller
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"
STARTED=$SECONDS
BENCH_NAME=${BENCH_NAME:-bench}
PGBIN=${WALFERRY_BENCH_PGBIN:-/usr/lib/postgresql/15/bin}
BUCKET=walferry-test ACCESS=walferry SECRET=walferry-secret
LEVEL=${LEVEL:-3}
KEEP_TMP=${WALFERRY_BENCH_KEEP:-0}
PGDATA="" WF="" WF_SRC="" ENDPOINT="" CA="" RGWLOG="" PREFIX="" BENCH_CLUSTERS=()

say() { echo "$BENCH_NAME [$((SECONDS - STARTED)) s]: $*" >&2; }
die() {
  say "$*"
  exit 1
}
bench_number() {
  local v=${!1}
  [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$2" ] && [ "$v" -le "$3" ] ||
    die "$1 must be a number in $2..$3, not '$v'"
}
bench_port() {
  local v
  for v in "$@"; do bench_number "$v" 1024 65525; done
}
bench_need() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null || die "$c is not installed (scripts/install-deps.sh bench)"; done
}
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package 'time')"
[ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/pgbench" ] || die "no PostgreSQL 15 in $PGBIN (Debian package postgresql-15)"
AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user (Debian's postgresql-15 makes it)"
  AS=(runuser -u postgres --)
fi

pg() { "${AS[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PGHOST="$TMP/pg/sock" PGPORT="${PG_PORT:?}" PGUSER=postgres "$@"; }
RUN() {
  "${AS[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$TMP/home" TMPDIR="$TMP/home" \
    PGHOST="$TMP/pg/sock" PGPORT="${PG_PORT:-5432}" PGUSER=postgres "$@"
}
psql_1() { pg "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

bench_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/walferry-$BENCH_NAME.XXXXXX")
  chmod 755 "$TMP"
  mkdir -p "$TMP"/{tools,home,work,pg/sock,corpus,pgbr/lock,pgbr/log,pgbr/spool,pgbr/conf.d}
}

# shellcheck disable=SC2317  # called by common.sh's exit trap
on_stop() {
  local d p
  set +e
  for d in "${BENCH_CLUSTERS[@]}"; do
    [ -f "$d/postmaster.pid" ] && pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
  done
  [ -n "$TMP" ] || return 0
  # the tools' detached workers started from this run's copies only (walferry's spool and
  # prefetch workers, pgBackRest's async processes): asked to stop before the server goes
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/exe" 2>/dev/null)" in "$TMP/tools/walferry") kill -TERM "${p#/proc/}" 2>/dev/null ;; esac
    grep -qaF -- "$TMP/tools/pgbackrest" "$p/cmdline" 2>/dev/null && kill -TERM "${p#/proc/}" 2>/dev/null
  done
  if [ "${1:-0}" -ne 0 ] && [ -n "$RGWLOG" ]; then
    say "S3 server log, last lines:"
    tail -n 5 "$RGWLOG" >&2 2>/dev/null
  fi
}
# shellcheck disable=SC2317
on_exit() {
  [ "$KEEP_TMP" != 1 ] || say "kept $TMP"
  if [ "$1" -eq 0 ]; then say "done in $((SECONDS - STARTED)) s"; else say "FAILED (exit $1)"; fi
  if declare -F bench_on_exit >/dev/null; then bench_on_exit "$1"; fi
}

bench_walferry() {
  local build=$1
  if [ -n "${WALFERRY_BENCH_WALFERRY:-}" ]; then
    WF_SRC=$WALFERRY_BENCH_WALFERRY
  else
    say "building walferry in $build"
    if ! { cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWALFERRY_BUILD_TESTS=OFF \
      -DWALFERRY_BUILD_BENCH=OFF -DWALFERRY_SANITIZE= &&
      cmake --build "$build" --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" --target walferry; } >"$TMP/cmake.log" 2>&1; then
      tail -n 30 "$TMP/cmake.log" >&2
      die "build failed"
    fi
    WF_SRC=$build/walferry
  fi
  [ -x "$WF_SRC" ] && "$WF_SRC" --version >/dev/null 2>&1 || die "no walferry binary at $WF_SRC"
  # a copy the postgres user can run whatever the permissions of the build tree
  cp "$WF_SRC" "$TMP/tools/walferry"
  WF=$TMP/tools/walferry
}

bench_s3() {
  say "starting the test S3 server: http 127.0.0.1:$1 (..$(($1 + 9))), TLS 127.0.0.1:$2"
  s3_up "$1" "$2" || die "the S3 server did not start"
  ENDPOINT=$S3_ENDPOINT
  cp "$S3_CA_FILE" "$TMP/tools/ca.pem"
  CA=$TMP/tools/ca.pem
  RGWLOG=$S3_DIR/log/client.rgw.a.log
  PREFIX="$BENCH_NAME/$(date -u +%Y%m%dT%H%M%SZ)-$$"
  say "server $ENDPOINT, bucket $BUCKET, keys under $PREFIX/"
}

walferry_conf() {
  local file=$1 suffix=$2 line
  shift 2
  cat >"$file" <<EOF
repo = s3://$BUCKET/$PREFIX/$suffix
s3-endpoint = $ENDPOINT
s3-region = us-east-1
s3-uri-style = path
s3-ca-file = $CA
s3-access-key-id = $ACCESS
s3-secret-access-key = $SECRET
compression = zstd
compression-level = $LEVEL
log-level = ${WF_LOG_LEVEL:-warn}
EOF
  for line in "$@"; do echo "$line" >>"$file"; done
}

# pgBackRest connects to repo1-s3-host and verifies that name against the certificate's DNS
# names only; "localhost" is in the certificate and must be 127.0.0.1 here. It signs
# repo1-s3-endpoint as the Host: an IP, so that radosgw reads the bucket from the path.
pgbackrest_conf() {
  local file=$1 path=$2 datadir=$3 line key tls="repo1-s3-host=localhost"
  shift 3
  if [ "$(getent ahosts localhost | awk 'NR == 1 { print $1 }')" != 127.0.0.1 ]; then
    say "warning: localhost does not resolve to 127.0.0.1 first; pgBackRest connects to 127.0.0.1 WITHOUT verifying the certificate"
    tls=$'repo1-s3-host=127.0.0.1\nrepo1-s3-verify-tls=n'
  fi
  local defaults=(repo1-type=s3 "repo1-path=$path" "repo1-s3-bucket=$BUCKET" repo1-s3-endpoint=127.0.0.1
    "repo1-s3-port=${TLS_PORT:?}" repo1-s3-region=us-east-1 repo1-s3-uri-style=path "repo1-s3-key=$ACCESS"
    "repo1-s3-key-secret=$SECRET" "repo1-s3-ca-file=$CA" compress-type=zst "compress-level=$LEVEL"
    "lock-path=$TMP/pgbr/lock" "log-path=$TMP/pgbr/log" log-level-console=warn log-level-stderr=warn
    log-level-file=off)
  {
    echo "[global]"
    echo "$tls"
    for line in "${defaults[@]}"; do  # a LINE of the caller replaces the default of its key
      key=${line%%=*}
      printf '%s\n' "$@" | grep -q "^$key=" || echo "$line"
    done
    for line in "$@"; do echo "$line"; done
    echo
    echo "[bench]"
    echo "pg1-path=$datadir"
    echo "pg1-socket-path=$TMP/pg/sock"
    echo "pg1-port=$PG_PORT"
  } >"$file"
}

mask_secrets() { sed -E 's/^(s3-secret-access-key = |repo1-s3-key-secret=).*/\1(secret)/' "$1" >"$2"; }

bench_cluster() {
  local dir=$1 line
  shift
  [ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
  pg "$PGBIN/initdb" -D "$dir" --no-sync -A trust -U postgres --no-instructions >"$TMP/initdb.log" 2>&1 ||
    { tail -n 20 "$TMP/initdb.log" >&2; die "initdb failed"; }
  {
    echo "# walferry bench ($BENCH_NAME)"
    echo "port = $PG_PORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$TMP/pg/sock'"
    echo "archive_mode = on"
    echo "archive_command = 'test ! -f $TMP/corpus/%f && cp %p $TMP/corpus/%f'"
    echo "checkpoint_timeout = 30min"
    echo "max_wal_size = 4GB"
    for line in "$@"; do echo "$line"; done  # later lines win
  } >>"$dir/postgresql.conf"
  BENCH_CLUSTERS+=("$dir")
  pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "$dir.log" >&2; die "PostgreSQL did not start"; }
}

# segment number of a WAL file name (16 MiB segments: 256 per "log" of 4 GiB)
segno() { echo $((16#${1:8:8} * 256 + 16#${1:16:8})); }
current_seg() { segno "$(psql_1 'select pg_walfile_name(pg_current_wal_lsn())')"; }
bench_pgbench_init() {
  pg "$PGBIN/pgbench" -i -q -s "${SCALE:?}" postgres >"$TMP/pgbench.log" 2>&1 ||
    { tail -n 20 "$TMP/pgbench.log" >&2; die "pgbench -i failed"; }
}
bench_wal_until() {  # SEGMENTS more than segment BENCH_FROM_SEG
  local want=$((${BENCH_FROM_SEG:-0} + $1)) i
  for ((i = 0; i < 200; i++)); do
    [ "$(current_seg)" -ge "$want" ] && break
    psql_1 checkpoint
    pg "$PGBIN/pgbench" -n -c 4 -j 2 -T 5 postgres >>"$TMP/pgbench.log" 2>&1 ||
      { tail -n 20 "$TMP/pgbench.log" >&2; die "pgbench failed"; }
  done
  [ "$(current_seg)" -ge "$want" ] || die "pgbench wrote too little WAL (now at segment $(current_seg) of $want)"
}
bench_wal_archived() {
  local i
  psql_1 'select pg_switch_wal()' >/dev/null
  for ((i = 0; i < 240; i++)); do
    compgen -G "$PGDATA/pg_wal/archive_status/*.ready" >/dev/null || return 0
    sleep 0.5
  done
  die "PostgreSQL did not archive every segment within 120 s"
}
bench_wal_corpus() {
  bench_pgbench_init
  bench_wal_until "$1"
  bench_wal_archived
}
bench_wal_names() {
  (cd "$TMP/corpus" && printf '%s\n' *) | grep -E '^[0-9A-F]{24}$' | sort | head -n "$2" >"$1"
  [ "$(wc -l <"$1")" -eq "$2" ] || die "only $(wc -l <"$1") segments archived, $2 wanted"
}
bench_stop_cluster() {
  pg "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null || die "PostgreSQL did not stop"
}

MACHINE="$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
