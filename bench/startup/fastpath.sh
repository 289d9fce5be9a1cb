#!/usr/bin/env bash
# fastpath.sh [WALFERRY] — latency of archive-push for a segment the spool has already
# confirmed (PostgreSQL calling archive_command again for it), process start included,
# against /bin/true and `walferry --version`. 100 rounds, interleaved; median and p95.
#
# Sets up, in a temporary directory removed on exit: a PostgreSQL 15 data directory (initdb,
# never started), a file:// repository (repo-create), a spool, and one real WAL segment
# confirmed through the spool worker. Run as root (initdb runs as postgres) or as the user
# that owns PostgreSQL's binaries. WALFERRY defaults to build/walferry. A worker the first
# push started is stopped on exit (bench/lib.sh).
BIN=$(readlink -f "${1:-build/walferry}")
BENCH_NAME=fastpath.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"
bench_tmp
T=$TMP/tools
as_pg() { "${AS[@]}" "$@"; }
[ ${#AS[@]} -eq 0 ] || chown -R postgres: "$TMP"
as_pg cp "$BIN" "$T/walferry"
as_pg "$PGBIN/initdb" -D "$T/data" >/dev/null 2>&1
cd "$T/data"
SEG=$(ls pg_wal | grep -E '^[0-9A-F]{24}$' | head -n 1)
as_pg touch "pg_wal/archive_status/$SEG.ready"
as_pg "$T/walferry" --config '' --repo "file://$T/repo" repo-create >/dev/null 2>&1
as_pg "$T/walferry" --config '' --repo "file://$T/repo" --spool-path "$T/spool" archive-push "pg_wal/$SEG"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
as_pg python3 - "$T/walferry" "file://$T/repo" "$T/spool" "pg_wal/$SEG" <<'PY'
import subprocess, sys, time
exe, repo, spool, seg = sys.argv[1:]
cmds = {
    "/bin/true": ["/bin/true"],
    "walferry --version": [exe, "--version"],
    "archive-push, confirmed": [exe, "--config", "", "--repo", repo, "--spool-path", spool, "archive-push", seg],
}
times = {k: [] for k in cmds}
for _ in range(100):
    for k, c in cmds.items():
        t0 = time.perf_counter()
        r = subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[k].append((time.perf_counter() - t0) * 1000)
        if r.returncode != 0:
            sys.exit(f"{k}: exit {r.returncode}")
for k, v in times.items():
    v.sort()
    print(f"{k:26s} median {v[50]:6.2f} ms   p95 {v[94]:6.2f} ms")
PY
