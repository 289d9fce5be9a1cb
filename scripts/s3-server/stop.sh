#!/usr/bin/env bash
# stop.sh DIR [NAME...] — stop the test S3 server processes recorded in DIR/run by start.sh
# and tls.sh: all of them, or only the NAMEs given (1-mon, 2-osd, 3-rgw, 4-sts, 9-tls), highest
# number first (TLS front, radosgw, osd, mon: that order spares the next start a slow
# recovery). Fault tests stop the gateway alone with "stop.sh DIR 3-rgw" and bring it back
# with "start.sh DIR PORT".
#
# Only the recorded processes are signalled, and only while their pid still has the
# recorded start time (see lib.sh); nothing is looked up by name. Each gets SIGTERM, then
# SIGKILL after 10 s; the script returns once they are gone (usually well under 1 s).
# Data in DIR is kept. Stopping what is not running is not an error: exit 0.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [1-mon|2-osd|3-rgw|4-sts|9-tls...]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/s3-server/lib.sh
. "$HERE/lib.sh"
R=$1/run
shift
for n in "$@"; do
  [[ $n =~ ^[0-9]-[a-z]+$ ]] || { echo "stop.sh: bad process name '$n' (1-mon, 2-osd, 3-rgw, 4-sts, 9-tls)" >&2; exit 2; }
done
[ -d "$R" ] || exit 0

if [ $# -gt 0 ]; then
  names=$(printf '%s\n' "$@" | sort -r)
else
  names=$(for f in "$R"/*.pid; do [ -e "$f" ] && basename "$f" .pid; done | sort -r)
fi
for n in $names; do
  f=$R/$n.pid
  [ -f "$f" ] || continue
  read -r p t <"$f" || true
  rm -f "$f"
  if ! [[ ${p:-} =~ ^[0-9]+$ ]] || [ -z "${t:-}" ] || [ "$(stime "$p")" != "$t" ]; then
    continue                           # gone, or the pid now belongs to another process
  fi
  kill -TERM "$p" 2>/dev/null || continue
  for _ in $(seq 100); do
    [ "$(stime "$p")" = "$t" ] || continue 2
    sleep 0.1
  done
  echo "stop.sh: $n (pid $p) ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -KILL "$p" 2>/dev/null
  for _ in $(seq 50); do [ "$(stime "$p")" = "$t" ] || continue 2; sleep 0.1; done
done
exit 0
