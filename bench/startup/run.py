#!/usr/bin/env python3
"""Process start: wall time of short commands, N runs each (default 100).

usage: bench/startup/run.py [-n N] COMMAND [COMMAND ...]
  each COMMAND is one shell-quoted string, e.g. '/bin/true' 'build/walferry --version'.
Prints median and p95 in ms per command, and the load average before and after.
Runs are interleaved (one of each command per round) so load changes hit all alike.
"""
import argparse
import os
import shlex
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("commands", nargs="+")
    args = ap.parse_args()
    argvs = [shlex.split(c) for c in args.commands]
    for argv in argvs:  # warm the page cache; fail loudly on a broken command
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=10)
    times = [[] for _ in argvs]
    load_before = os.getloadavg()
    for _ in range(args.n):
        for i, argv in enumerate(argvs):
            t0 = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=10)
            times[i].append((time.perf_counter() - t0) * 1000)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {args.n} runs each")
    print(f"{'command':<48} {'median ms':>10} {'p95 ms':>8}")
    for cmd, t in zip(args.commands, times):
        t.sort()
        median = t[len(t) // 2]
        p95 = t[min(len(t) - 1, int(len(t) * 0.95))]
        print(f"{cmd:<48} {median:>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
