#!/usr/bin/env python3
"""Runs the task-pool benchmark for mproc (an `mproc up --processes 2`
sidecar, the stock tasks) and Python's multiprocessing.Pool(2) /
ProcessPoolExecutor(2) in the same run and prints them side by side.

usage: bench/compare_pool.py [--rounds R] [--scale F]

Workloads: apply_async of 20,000 trivial tasks with a callback, blocking
apply latency, map over 100,000 items with default chunks and over 20,000
with chunksize=1, and 2,000 one-millisecond sleeps (efficiency: ideal wall
time over measured, in %, reported in the ops/s column). The "executor"
row compares apply_async with ProcessPoolExecutor.submit. Medians over the
rounds; results also go to bench/results/pool.json.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

from bench_common import ROOT, build_opt, median_rows, print_side_by_side, run_lines, write_json


def start_sidecar(mproc):
    proc = subprocess.Popen([mproc, "up", "--listen", "127.0.0.1:0", "--processes", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    address = None
    for line in proc.stdout:
        m = re.search(r"listening on (\S+)", line)
        if m:
            address = m.group(1)
        if "processes for pool" in line:
            break
    if address is None:
        raise RuntimeError("mproc up did not start")
    return proc, address


def mproc_pool_rows(mproc, bench, scale):
    """The pool workloads against a fresh `mproc up --processes 2`."""
    proc, address = start_sidecar(mproc)
    try:
        return run_lines([bench, "--manager", address, "--scale", str(scale)])
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def python_pool_rows(scale):
    return run_lines([sys.executable,
                      os.path.join(ROOT, "bench", "python_pool_bench.py"),
                      str(scale)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()

    mproc, bench = build_opt("//cli:mproc", "//bench:pool_bench")
    runs = []
    for _ in range(args.rounds):
        runs.append(python_pool_rows(args.scale))
        rows = mproc_pool_rows(mproc, bench, args.scale)
        runs.append(rows)
        # ProcessPoolExecutor is a second anchor for the same mproc row.
        runs.append([dict(r, transport="executor") for r in rows
                     if r["workload"] == "apply_async trivial"])
    results = median_rows(runs)
    table = print_side_by_side(results, p50="ratio")
    write_json("pool.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                             "rounds": args.rounds, "scale": args.scale,
                             "rows": table})


if __name__ == "__main__":
    main()
