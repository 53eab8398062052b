#!/usr/bin/env python3
"""Runs the local-process benchmark for mproc (worker/process) and Python's
multiprocessing/subprocess in the same run and prints them side by side.

usage: bench/compare_process.py [--rounds R] [--scale F]

Workloads: Process start+join of an empty callable, Pipe round trip of an
int (echoed by a child), Pipe streams of 100 B and 1 MiB messages, and
run(["true"]) with captured output. Each round runs both systems, one after
the other; the median over rounds is reported. Results also go to
bench/results/process.json.
"""
import argparse
import os
import sys
import time

from bench_common import ROOT, build_opt, median_rows, print_side_by_side, run_lines, write_json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()

    (bench,) = build_opt("//bench:process_bench")
    python = [sys.executable, os.path.join(ROOT, "bench", "python_process_bench.py"),
              str(args.scale)]
    runs = []
    for _ in range(args.rounds):
        runs.append(run_lines(python))
        runs.append(run_lines([bench, "--scale", str(args.scale)]))
    results = median_rows(runs)

    table = print_side_by_side(results, p50="speed-up")
    write_json("process.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "rounds": args.rounds, "scale": args.scale,
                                "rows": table})


if __name__ == "__main__":
    main()
