# shellcheck shell=bash
# lib.sh — helpers shared by the test S3 server scripts (sourced, never run on its own).
#
# Every process the scripts start is recorded in DIR/run/NN-name.pid as "PID STARTTIME",
# STARTTIME being field 22 of /proc/PID/stat (clock ticks since boot). A pid counts as ours
# only while a live process with that pid has that start time, so a pid the kernel has
# since reused for another process is never stopped by mistake. Names in use: 1-mon,
# 2-osd, 3-rgw, 4-sts (start.sh) and 9-tls (tls.sh); stop.sh stops the highest NN first.

# stime PID — print the start time of live process PID; fail if it is gone or a zombie.
stime() {
  local s
  read -r s 2>/dev/null <"/proc/$1/stat" || return 1
  s=${s##*) }          # drop "PID (COMM) "; COMM may itself hold spaces or ')'
  # shellcheck disable=SC2086
  set -- $s            # now $1 is field 3 (state) and ${20} is field 22 (starttime)
  [ "$1" != Z ] && echo "${20}"
}

# alive RUNDIR NAME — is the process recorded in RUNDIR/NAME.pid still running?
alive() {
  local p t
  read -r p t 2>/dev/null <"$1/$2.pid" || return 1
  [[ $p =~ ^[0-9]+$ ]] && [ -n "$t" ] && [ "$(stime "$p")" = "$t" ]
}

# spawn RUNDIR OUTFILE NAME COMMAND... — run COMMAND detached in its own session
# (terminal signals such as Ctrl-C do not reach it), stdout+stderr appended to OUTFILE,
# and record it in RUNDIR/NAME.pid. Called from a non-interactive script, the background
# child is not a process-group leader, so setsid(1) execs in place instead of forking and
# $! is the daemon's own pid.
spawn() {
  local run=$1 out=$2 name=$3
  shift 3
  setsid "$@" </dev/null >>"$out" 2>&1 &
  echo "$! $(stime $!)" >"$run/$name.pid"
}

# port_in_use PORT — does something accept TCP connections on 127.0.0.1:PORT?
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free_ports WHAT PORT... — exit 1 with a clear message if any PORT is in use.
require_free_ports() {
  local what=$1 p
  shift
  for p in "$@"; do
    if port_in_use "$p"; then
      echo "error: port 127.0.0.1:$p is already in use ($what); stop what holds it or choose other ports" >&2
      exit 1
    fi
  done
}

# valid_port VALUE — is VALUE a TCP port number usable here (1024..65525)?
valid_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1024 ] && [ "$1" -le 65525 ]; }
