#!/usr/bin/env bash
# tls.sh DIR TLSPORT BACKENDPORT — TLS front for the test S3 server of start.sh; prints
# https://127.0.0.1:TLSPORT once it answers.
#
# stunnel4 accepts TLS on 127.0.0.1:TLSPORT and passes the bytes unchanged to the plain
# S3 port 127.0.0.1:BACKENDPORT, so the Host header a client signed stays valid. The
# certificate is self-signed for IP 127.0.0.1 and DNS localhost, made once (RSA 2048, ten
# years) in DIR/tls/cert.pem: clients verify the server by trusting that file as their CA
# (curl --cacert, walferry --s3-ca-file). Start the server first: the front is checked
# with a request that must reach radosgw.
#
# Idempotent (~0.3 s; ~0.1 s if already running). TLSPORT must be free. stop.sh DIR stops
# it together with the server (first), or alone with "stop.sh DIR 9-tls".
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 DIR TLSPORT BACKENDPORT" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/s3-server/lib.sh
. "$HERE/lib.sh"
for p in "$2" "$3"; do
  valid_port "$p" || { echo "tls.sh: ports must be numbers in 1024..65525, not '$p'" >&2; exit 2; }
done
mkdir -p "$1"
DIR=$(cd "$1" && pwd) TLSPORT=$2 BACKEND=$3
T=$DIR/tls R=$DIR/run L=$DIR/log
mkdir -p "$T" "$R" "$L"

if [ ! -s "$T/cert.pem" ]; then
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$T/key.pem" -out "$T/cert.pem.new" 2>>"$L/openssl.out")
  chmod 644 "$T/cert.pem.new"
  mv "$T/cert.pem.new" "$T/cert.pem"
fi

if ! alive "$R" 9-tls; then
  rm -f "$R/9-tls.pid"
  require_free_ports "TLS port of $DIR" "$TLSPORT"
  cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid =
output = $L/stunnel.log
debug = warning
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1

[s3]
accept = 127.0.0.1:$TLSPORT
connect = 127.0.0.1:$BACKEND
cert = $T/cert.pem
key = $T/key.pem
CONF
  spawn "$R" "$L/stunnel.out" 9-tls stunnel "$T/stunnel.conf"
fi

# up when a TLS request gets an HTTP answer (any status) from the backend
code=000
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$T/cert.pem" \
    "https://127.0.0.1:$TLSPORT/") || true
  [ "$code" != 000 ] && break
  alive "$R" 9-tls || { echo "tls.sh: stunnel died, see $L/stunnel.log and $L/stunnel.out" >&2; exit 1; }
  sleep 0.05
done
[ "$code" != 000 ] || { echo "tls.sh: no HTTP answer through https://127.0.0.1:$TLSPORT (is the server on $BACKEND up?)" >&2; exit 1; }
echo "https://127.0.0.1:$TLSPORT"
