#!/usr/bin/env python3
"""The pre-fork server and ThreadPool next to the seed's Python version and
the machine's floor, in the same run.

usage: bench/compare_prefork.py [--rounds R] [--seconds S] [--connections C]

Echo servers, each on a free loopback port: `mproc serve --echo` with one
process (an event loop, as many processes as the floor: on 2 cores the
client needs the other), the same with 2 processes, and with `--threads 32`
(2 processes with a thread pool each, every connection served at once: the
seed's design), the seed's
Python server (a multiprocessing.Pool of 2 processes accepting on one
socket, a ThreadPool of 32 threads each: the seed's pattern at the same
size), and a single-process C++ epoll echo loop (the floor). One epoll
client keeps C connections (default 64) with one message each in flight,
100 B and 4 KB, for S seconds (default 3). Then ThreadPool.apply_async of
trivial tasks, mproc vs Python. Medians over R rounds (default 1); rows
also go to bench/results/prefork.json.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

from bench_common import ROOT, build_opt, fmt, median_rows, run_lines, write_json

PROCESSES = 2
THREADS = 32


def start_server(cmd):
    """Starts `cmd` in a session of its own; returns (process, port)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    line = proc.stdout.readline()
    return proc, int(line.rsplit(":", 1)[-1].split()[-1])


def stop_server(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def echo_rows(mproc, bench, seconds, connections):
    servers = {
        # As many processes as the floor: the client needs the other core.
        "mproc": [mproc, "serve", "--echo", "--listen", "127.0.0.1:0",
                  "--processes", "1"],
        "mproc 2 procs": [mproc, "serve", "--echo", "--listen", "127.0.0.1:0",
                          "--processes", str(PROCESSES)],
        "mproc threads": [mproc, "serve", "--echo", "--listen", "127.0.0.1:0",
                          "--processes", str(PROCESSES), "--threads", str(THREADS)],
        "python": [sys.executable, os.path.join(ROOT, "bench", "python_prefork_bench.py"),
                   "server", str(PROCESSES), str(THREADS)],
        "epoll floor": [bench, "floor"],
    }
    rows = []
    for system, cmd in servers.items():
        proc, port = start_server(cmd)
        try:
            time.sleep(0.3)  # every process in accept
            for size in (100, 4096):
                rows += run_lines([bench, "client", f"127.0.0.1:{port}", system,
                                   str(connections), str(size), str(seconds)])
        finally:
            stop_server(proc)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--tasks", type=int, default=200000)
    args = ap.parse_args()
    mproc, bench = build_opt("//cli:mproc", "//bench:prefork_bench")
    runs = []
    for _ in range(args.rounds):
        runs.append(echo_rows(mproc, bench, args.seconds, args.connections))
        runs.append(run_lines([bench, "threadpool", str(args.tasks)]))
        runs.append(run_lines([sys.executable,
                               os.path.join(ROOT, "bench", "python_prefork_bench.py"),
                               "threadpool", str(min(args.tasks, 50000))]))
    results = median_rows(runs)
    print(f"\n{'workload':<36} {'system':<12} {'ops/s':>10} {'p50 us':>9} {'p99 us':>9}"
          f" {'mproc ops ratio':>16} {'mproc p99 ratio':>16}")
    table = []
    for workload in sorted({w for (_, _, w) in results}):
        mine = next((r for (s, _, w), r in results.items()
                     if w == workload and s == "mproc"), None)
        rows = sorted(((s, r) for (s, _, w), r in results.items() if w == workload),
                      key=lambda sr: sr[0] != "mproc")
        for system, row in rows:
            ratio = p99_ratio = None
            if system != "mproc" and mine:
                ratio = mine["ops_per_s"] / row["ops_per_s"]
                if row.get("p99_us") and mine.get("p99_us"):
                    p99_ratio = mine["p99_us"] / row["p99_us"]
            print(f"{workload:<36} {system:<12} {fmt(row['ops_per_s']):>10}"
                  f" {fmt(row.get('p50_us'), 1):>9} {fmt(row.get('p99_us'), 1):>9}"
                  f" {(f'{ratio:.2f}x' if ratio else ''):>16}"
                  f" {(f'{p99_ratio:.2f}x' if p99_ratio else ''):>16}")
            table.append({"workload": workload, "system": system, **row,
                          "mproc_ops_ratio": ratio, "mproc_p99_ratio": p99_ratio})
    print("\n(ratios are mproc over the row's system: ops above 1 and p99 below 1"
          " favour mproc)")
    write_json("prefork.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "rounds": args.rounds, "seconds": args.seconds,
                                "connections": args.connections, "rows": table})


if __name__ == "__main__":
    main()
