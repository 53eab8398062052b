#!/usr/bin/env python3
"""Runs the manager benchmark for mproc and Python's multiprocessing managers
in the same run and prints them side by side with their ratio.

usage: bench/compare_manager.py [--ops N] [--rounds R] [--entries M]

Transports: "tcp" (mproc with an authkey vs a BaseManager with an authkey,
both on 127.0.0.1) and "unix" (mproc on a unix socket vs a SyncManager on a
unix socket). Every client is a separate process. Each workload runs R
rounds, alternating the systems, and the median is reported. Results are
also written as JSON to bench/results/manager.json.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from bench_common import (ROOT, build_opt, fmt, median_rows, print_side_by_side,
                          run_lines, write_json)

AUTHKEY = "bench-key"


class MprocManager:
    """A `mproc manager` process on a fresh address."""

    def __init__(self, mproc, transport):
        listen = "127.0.0.1:0" if transport == "tcp" else \
            "unix:" + os.path.join(tempfile.mkdtemp(), "mproc.sock")
        env = dict(os.environ, MPROC_AUTHKEY=AUTHKEY if transport == "tcp" else "")
        self.proc = subprocess.Popen([mproc, "manager", "--listen", listen],
                                     stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("mproc manager did not start: " + line)
        self.address = m.group(1)
        self.env = env

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def mproc_rows(mproc, bench, transport, ops, entries=0):
    server = MprocManager(mproc, transport)
    try:
        cmd = [bench, "--address", server.address, "--transport", transport,
               "--ops", str(ops), "--clients", "8"]
        if entries:
            cmd += ["--entries", str(entries), "--manager-pid", str(server.proc.pid)]
        return run_lines(cmd, env=server.env)
    finally:
        server.stop()


def python_rows(transport, ops, entries=0):
    cmd = [sys.executable, os.path.join(ROOT, "bench", "python_manager_bench.py"),
           transport, str(ops), "8"]
    if entries:
        cmd.append(str(entries))
    return run_lines(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--entries", type=int, default=1000000)
    args = ap.parse_args()

    mproc, bench = build_opt("//cli:mproc", "//bench:manager_bench")

    runs = []
    for transport in ("tcp", "unix"):
        for _ in range(args.rounds):
            runs.append(python_rows(transport, args.ops))
            runs.append(mproc_rows(mproc, bench, transport, args.ops))
    memory = [python_rows("tcp", args.ops, args.entries),
              mproc_rows(mproc, bench, "tcp", args.ops, args.entries)]
    results = median_rows(runs + memory)

    table = print_side_by_side(results, p50="ratio")
    for (system, transport, workload), row in sorted(results.items()):
        if system == "mproc" and ("python", transport, workload) not in results \
                and "ops_per_s" in row:
            print(f"{workload:<30} {transport:<9} {'(no python)':>13} {fmt(row['ops_per_s']):>12}")
            table.append({"workload": workload, "transport": transport, "mproc": row})
    py_mem = results[("python", "tcp", f"rss for {args.entries} entries")]
    mp_mem = results[("mproc", "tcp", f"rss for {args.entries} entries")]
    print(f"\nmanager memory for {args.entries:,} small entries (\"key<i>\" -> i): "
          f"python {py_mem['growth_mb']:.0f} MB growth ({py_mem['rss_mb']:.0f} MB RSS), "
          f"mproc {mp_mem['growth_mb']:.0f} MB growth ({mp_mem['rss_mb']:.0f} MB RSS), "
          f"ratio {mp_mem['growth_mb'] / py_mem['growth_mb']:.2f}x")
    table.append({"workload": "memory", "python": py_mem, "mproc": mp_mem})
    parked = results.get(("mproc", "tcp", "1000 parked gets"))
    if parked:
        print(f"1,000 gets parked on one queue: manager memory +{parked['growth_mb']:.1f} MB, "
              f"threads +{parked['threads_added']:.0f}")
        table.append({"workload": "1000 parked gets", "mproc": parked})


    write_json("manager.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "ops": args.ops, "rounds": args.rounds,
                                "rows": table})


if __name__ == "__main__":
    main()
