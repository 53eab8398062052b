#!/usr/bin/env python3
"""Runs the local-process benchmark for mproc (worker/process) and Python's
multiprocessing/subprocess in the same run and prints them side by side.

usage: bench/compare_process.py [--rounds R] [--scale F]

Workloads: Process start+join of an empty callable, Pipe round trip of an
int (echoed by a child), Pipe streams of 100 B and 1 MiB messages, and
run(["true"]) with captured output. mproc runs twice: with absl as shared
libraries (transport "local") and statically linked ("static absl"). Each
round runs Python and both builds, one after the other; the median over
rounds is reported. Results also go to
bench/results/process.json.
"""
import argparse
import os
import sys
import time

from bench_common import ROOT, build_opt, median_rows, print_side_by_side, run_lines, write_json


# The transport column names the build: "local" links absl as a shared
# library, as every mproc binary that uses gRPC must; "static absl" is a
# binary without gRPC linking absl statically (fewer mappings, cheaper fork).
STATIC = "static absl"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()

    bench, static_bench = build_opt("//bench:process_bench",
                                    "//bench:process_bench_static")
    python = [sys.executable, os.path.join(ROOT, "bench", "python_process_bench.py"),
              str(args.scale)]
    runs = []
    for _ in range(args.rounds):
        py_rows = run_lines(python)
        # The static-absl build is compared with the same Python rows.
        runs.append(py_rows + [dict(r, transport=STATIC) for r in py_rows])
        runs.append(run_lines([bench, "--scale", str(args.scale)]))
        runs.append([dict(r, transport=STATIC)
                     for r in run_lines([static_bench, "--scale", str(args.scale)])])
    results = median_rows(runs)

    table = print_side_by_side(results, p50="speed-up")
    write_json("process.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "rounds": args.rounds, "scale": args.scale,
                                "rows": table})


if __name__ == "__main__":
    main()
