#!/usr/bin/env bash
# start.sh DIR PORT — start (or check) walferry's test S3 server and print its endpoint,
# http://127.0.0.1:PORT, once it serves requests.
#
# The server is a one-node Ceph 16.2 cluster from Debian 12 packages (install-deps.sh):
# ceph-mon, one ceph-osd keeping its data with BlueStore in the sparse file DIR/osd.0.block,
# and radosgw serving S3: path-style addressing, SigV4 (and SigV2), region us-east-1, access
# key walferry, secret walferry-secret, bucket walferry-test, created here (override with
# S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET). tls.sh puts a TLS front before it.
#
# STS (AssumeRole) and S3 with the temporary credentials it hands out are served by a second
# radosgw on the same cluster, http://127.0.0.1:PORT+9 (written to DIR/sts-endpoint): with
# rgw_s3_auth_use_sts, radosgw answers a wrong secret with AccessDenied instead of
# SignatureDoesNotMatch, so the gateway on PORT keeps STS off and behaves as before. A new DIR
# gets the role walferry-test-role (ARN in DIR/sts-role-arn) that the test user may assume,
# with a role policy allowing s3:* on every bucket; the user gets the caps "roles=*". A DIR
# made by an older start.sh has no STS gateway until rm -rf DIR.
#
# Ports, all on 127.0.0.1: PORT (S3), PORT+1 (mon), PORT+2..PORT+8 (osd), PORT+9 (S3 + STS);
# they must be free.
# A DIR stays bound to its PORT (the mon's address is in its monmap).
#
# Idempotent: on a DIR whose daemons all run it only checks the S3 API (~0.1 s). If only
# radosgw is down (stop.sh DIR 3-rgw, for fault tests) it starts radosgw alone (~1-2 s);
# otherwise it stops what is left and starts all three (~9 s on a new DIR, ~6 s on an
# existing one, longer if the osd had crashed). The daemons run detached; their pids are
# in DIR/run/, their output and logs in DIR/log/. Stop them with stop.sh DIR (data kept);
# rm -rf DIR afterwards for a clean slate.
#
# Disk: DIR/osd.0.block is sparse (20 GiB at most) and grows with the data held at once;
# overwritten and deleted objects are garbage-collected within ~20 s. Memory: ~140 MB RSS
# idle, ~350 MB under load.
#
# Facts this setup depends on (Ceph 16.2.15):
# - radosgw has no database-only mode in this version: a mon and an osd are needed.
# - With "auth none", ms_mon_client_mode must be crc, or radosgw hangs for minutes
#   on its mon connection.
# - The beast frontend wants "endpoint=127.0.0.1:PORT" (no http://) and tcp_nodelay=1;
#   without it each request on a kept-alive connection waits ~44 ms.
# - One placement group per pool and a short paxos interval cut a first start from
#   ~22 s to ~9 s.
# - Garbage collection defaults to hours; short rgw_gc_* settings keep the block file small.
# - The S3 user can only be created once the gateway answers (403 before it exists).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/s3-server/lib.sh
. "$HERE/lib.sh"
valid_port "$2" || { echo "start.sh: PORT must be a number in 1024..65525, not '$2'" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd) PORT=$2
ACCESS=${S3_ACCESS_KEY:-walferry} SECRET=${S3_SECRET_KEY:-walferry-secret}
BUCKET=${S3_BUCKET:-walferry-test}
ENDPOINT=http://127.0.0.1:$PORT MON=127.0.0.1:$((PORT + 1))
R=$DIR/run L=$DIR/log C=$DIR/ceph.conf
# the daemons' admin sockets live in DIR/run; a unix socket path holds at most 107 bytes
[ ${#DIR} -le 80 ] || { echo "start.sh: DIR path too long (${#DIR} > 80 characters): $DIR" >&2; exit 2; }
if [ -f "$DIR/port" ] && [ "$(cat "$DIR/port")" != "$PORT" ]; then
  echo "start.sh: $DIR was made for port $(cat "$DIR/port"); use that port or a new DIR" >&2
  exit 1
fi
mkdir -p "$R" "$L"

# s3 CURL-ARGS... — one signed request as the test user; prints the HTTP status code.
# (curl 7.88 does not send x-amz-content-sha256 by itself; radosgw then rejects the signature.)
s3() {
  curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# write_config FSID — the whole cluster configuration, DIR/ceph.conf
write_config() {
  cat >"$C" <<CONF
[global]
fsid = $1
mon_host = v2:$MON
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_bind_msgr1 = false
ms_bind_port_min = $((PORT + 2))
ms_bind_port_max = $((PORT + 8))
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
run_dir = $R
admin_socket = $R/\$name.asok
pid_file =
log_file = $L/\$name.log
keyring = $DIR/keyring
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 1
osd_pool_default_pgp_num = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0
paxos_propose_interval = 0.05
paxos_min_wait = 0.01

[mon]
mon_data = $DIR/mon.\$id

[osd]
osd_data = $DIR/osd.\$id
osd_objectstore = bluestore
bluestore_block_path = $DIR/osd.\$id.block
bluestore_block_create = true
bluestore_block_size = 21474836480
osd_memory_target = 1073741824

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw_data = $DIR/rgw
rgw_dns_name = 127.0.0.1
rgw_thread_pool_size = 64
rgw_enable_lc_threads = false
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 10
rgw_gc_processor_max_time = 10

# the same gateway with STS on, for temporary credentials
[client.rgw.sts]
rgw_frontends = beast endpoint=127.0.0.1:$((PORT + 9)) tcp_nodelay=1
rgw_data = $DIR/rgw-sts
rgw_dns_name = 127.0.0.1
rgw_thread_pool_size = 16
rgw_enable_lc_threads = false
rgw_enable_gc_threads = false
rgw_s3_auth_use_sts = true
rgw_sts_key = walferrytestkey1
CONF
}

# new_cluster — make the mon's store and the osd on a DIR that has none yet.
# DIR/port is written last: until it exists, the next run starts over from scratch.
new_cluster() {
  local fsid uuid id
  rm -rf "$DIR/mon.a" "$DIR/osd.0" "$DIR/osd.0.block" "$DIR/rgw" "$DIR/monmap" "$DIR/keyring"
  mkdir -p "$DIR/mon.a" "$DIR/osd.0" "$DIR/rgw" "$DIR/rgw-sts"
  fsid=$(uuidgen)
  write_config "$fsid"
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:$MON]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$C" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >>"$L/mon.out" 2>&1
  spawn "$R" "$L/mon.out" 1-mon ceph-mon -c "$C" -i a -f
  uuid=$(uuidgen)
  id=$(ceph -c "$C" --connect-timeout 30 osd new "$uuid" 2>>"$L/admin.out") ||
    { echo "start.sh: the mon did not register the osd, see $L/admin.out and $L/mon.a.log" >&2; exit 1; }
  [ "$id" = 0 ] || { echo "start.sh: expected osd id 0, got '$id'" >&2; exit 1; }
  ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$uuid" >>"$L/osd.out" 2>&1 ||
    { echo "start.sh: ceph-osd --mkfs failed, see $L/osd.out" >&2; exit 1; }
  echo "$PORT" >"$DIR/port"
}

STS_PORT=$((PORT + 9))
has_sts() { grep -q '^\[client.rgw.sts\]' "$C" 2>/dev/null; }
daemons="1-mon 2-osd 3-rgw"
if alive "$R" 1-mon && alive "$R" 2-osd; then
  if ! alive "$R" 3-rgw; then          # only the gateway is down: start it alone
    rm -f "$R/3-rgw.pid"
    require_free_ports "S3 port of $DIR" "$PORT"
    spawn "$R" "$L/rgw.out" 3-rgw radosgw -c "$C" -n client.rgw.a -f
  fi
  if has_sts && ! alive "$R" 4-sts; then
    rm -f "$R/4-sts.pid"
    require_free_ports "S3+STS port of $DIR" "$STS_PORT"
    spawn "$R" "$L/rgw-sts.out" 4-sts radosgw -c "$C" -n client.rgw.sts -f
  fi
else                                   # new, stopped, half-up or stale: (re)start all
  "$HERE/stop.sh" "$DIR" 4-sts 3-rgw 2-osd 1-mon
  require_free_ports "needed by the S3 server in $DIR: $PORT..$((PORT + 9))" $(seq "$PORT" $((PORT + 9)))
  if [ -f "$DIR/port" ]; then
    spawn "$R" "$L/mon.out" 1-mon ceph-mon -c "$C" -i a -f
  else
    new_cluster
  fi
  spawn "$R" "$L/osd.out" 2-osd ceph-osd -c "$C" -i 0 -f
  spawn "$R" "$L/rgw.out" 3-rgw radosgw -c "$C" -n client.rgw.a -f
  if has_sts; then spawn "$R" "$L/rgw-sts.out" 4-sts radosgw -c "$C" -n client.rgw.sts -f; fi
fi
if has_sts; then daemons="$daemons 4-sts"; fi

# Wait up to 60 s for the S3 API: 403 means up but the user does not exist yet.
code=000
for _ in $(seq 600); do
  code=$(s3 "$ENDPOINT/" 2>/dev/null) || true
  case $code in 200 | 403) break ;; esac
  for n in $daemons; do
    alive "$R" "$n" || { echo "start.sh: $n died; its output: $L/${n#*-}.out, logs: $L/" >&2
                       tail -n 20 "$L/${n#*-}.out" >&2 2>/dev/null; exit 1; }
  done
  sleep 0.1
done
case $code in 200 | 403) ;; *) echo "start.sh: S3 API not ready after 60 s (last HTTP code $code), see $L/" >&2; exit 1 ;; esac

if [ "$code" = 403 ]; then
  radosgw-admin -c "$C" user create --uid="$ACCESS" --display-name="$ACCESS" \
    --access-key="$ACCESS" --secret="$SECRET" >>"$L/admin.out" 2>&1 || true
  for _ in $(seq 100); do
    code=$(s3 "$ENDPOINT/") || true
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "start.sh: user $ACCESS not accepted (HTTP $code), see $L/admin.out" >&2; exit 1; }
fi

# make_sts_role — the role the test user assumes through STS (once, with the user); its
# ARN goes to DIR/sts-role-arn, written last so that a failed attempt is redone.
make_sts_role() {
  has_sts || return 0                  # a DIR from an older start.sh
  local role=walferry-test-role
  radosgw-admin -c "$C" caps add --uid="$ACCESS" --caps="roles=*" >>"$L/admin.out" 2>&1 ||
    { echo "start.sh: radosgw-admin caps add failed, see $L/admin.out" >&2; exit 1; }
  if ! radosgw-admin -c "$C" role get --role-name="$role" >>"$L/admin.out" 2>&1; then
    radosgw-admin -c "$C" role create --role-name="$role" --path=/ \
      --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/'"$ACCESS"'"]},"Action":["sts:AssumeRole"]}]}' \
      >>"$L/admin.out" 2>&1 || { echo "start.sh: radosgw-admin role create failed, see $L/admin.out" >&2; exit 1; }
  fi
  radosgw-admin -c "$C" role-policy put --role-name="$role" --policy-name=walferry-s3 \
    --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}' \
    >>"$L/admin.out" 2>&1 || { echo "start.sh: radosgw-admin role-policy put failed, see $L/admin.out" >&2; exit 1; }
  echo "arn:aws:iam:::role/$role" >"$DIR/sts-role-arn"
}
if [ "$code" = 200 ] && [ ! -f "$DIR/sts-role-arn" ]; then make_sts_role; fi
if has_sts; then                       # the STS gateway answers too (up to 60 s)
  for _ in $(seq 600); do
    code=$(s3 "http://127.0.0.1:$STS_PORT/" 2>/dev/null) || true
    [ "$code" = 200 ] && break
    alive "$R" 4-sts || { echo "start.sh: 4-sts died; its output: $L/rgw-sts.out" >&2; exit 1; }
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "start.sh: S3+STS gateway on port $STS_PORT not ready (HTTP $code)" >&2; exit 1; }
  echo "http://127.0.0.1:$STS_PORT" >"$DIR/sts-endpoint"
fi

for _ in $(seq 100); do                # 200 created, 409 already there (ours)
  code=$(s3 -X PUT "$ENDPOINT/$BUCKET") || true
  case $code in 200 | 409) break ;; esac
  sleep 0.1
done
case $code in 200 | 409) ;; *) echo "start.sh: creating bucket $BUCKET failed (HTTP $code)" >&2; exit 1 ;; esac
echo "$ENDPOINT"
