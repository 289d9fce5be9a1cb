#!/usr/bin/env bash
# calls.sh NAMES CWD CSV LOG -- COMMAND ARGS...  — run COMMAND once per WAL file name in
# NAMES (one a line, in order), in the directory CWD, as PostgreSQL's archiver or startup
# process would: a new process per file, one after the other. In ARGS, %f becomes the
# file's name and %p becomes pg_wal/NAME (relative to CWD, the data directory).
#
# Each call runs under GNU time (/usr/bin/time) for its peak RSS and CPU time; its wall
# time is taken around it with bash's EPOCHREALTIME (microseconds; no extra process), so it
# includes the start of the tool's process (and /usr/bin/time's own exec, about 1 ms: see
# the "noop" reference rows of run.sh). One CSV row per call goes to CSV:
#   seq,name,seconds,rc,maxrss_kib,user_s,sys_s
# The tool's stderr is appended to LOG. The loop stops at the first call that fails (its
# row is written); the exit status is then that call's. On success prints, on stdout, the
# wall time of the whole loop in seconds (the sum of the calls plus the loop's own cost).
#
# run.sh runs this as the postgres user (like the archiver) when it is itself root.
set -uo pipefail
if [ $# -lt 6 ] || [ "$5" != -- ]; then echo "usage: $0 NAMES CWD CSV LOG -- COMMAND ARGS..." >&2; exit 2; fi
NAMES=$1 CWD=$2 CSV=$3 LOG=$4
shift 5
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "calls.sh: $TIME (GNU time, Debian package 'time') is missing" >&2; exit 2; }
cd "$CWD" || exit 2
stats=$(mktemp "${TMPDIR:-/tmp}/calls-time.XXXXXX") || exit 2
trap 'rm -f "$stats"' EXIT
pf='%f' pp='%p'
echo "seq,name,seconds,rc,maxrss_kib,user_s,sys_s" >"$CSV"
seq=0 rc=0
loop_start=$EPOCHREALTIME
while IFS= read -r name; do
  [ -n "$name" ] || continue
  seq=$((seq + 1))
  args=()
  for a in "$@"; do
    a=${a//"$pf"/$name}
    args+=("${a//"$pp"/pg_wal/$name}")
  done
  t0=$EPOCHREALTIME
  "$TIME" -q -f '%M %U %S' -o "$stats" "${args[@]}" 2>>"$LOG"
  rc=$?
  t1=$EPOCHREALTIME
  read -r rss usr sys <"$stats" || { rss=0 usr=0 sys=0; }
  # EPOCHREALTIME is "seconds.microseconds"; subtract in integer microseconds
  us=$(( (${t1%.*} - ${t0%.*}) * 1000000 + 10#${t1#*.} - 10#${t0#*.} ))
  printf '%d,%s,%d.%06d,%d,%s,%s,%s\n' "$seq" "$name" $((us / 1000000)) $((us % 1000000)) \
    "$rc" "${rss:-0}" "${usr:-0}" "${sys:-0}" >>"$CSV"
  if [ "$rc" -ne 0 ]; then
    echo "calls.sh: call $seq failed with exit $rc: (cd $CWD && ${args[*]})" >&2
    exit "$rc"
  fi
done <"$NAMES"
loop_end=$EPOCHREALTIME
us=$(( (${loop_end%.*} - ${loop_start%.*}) * 1000000 + 10#${loop_end#*.} - 10#${loop_start#*.} ))
printf '%d.%06d\n' $((us / 1000000)) $((us % 1000000))
