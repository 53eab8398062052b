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

from bench_common import ROOT, build_opt, fmt, median_rows, run_lines, write_json


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

    print(f"\n{'workload':<30} {'python ops/s':>13} {'mproc ops/s':>12} {'ratio':>7} "
          f"{'python p50/p99 us':>18} {'mproc p50/p99 us':>17} {'p50 speed-up':>12}")
    table = []
    for (system, transport, workload), py in results.items():
        if system != "python":
            continue
        mp_row = results.get(("mproc", transport, workload))
        if mp_row is None:
            continue
        ratio = mp_row["ops_per_s"] / py["ops_per_s"]
        speedup = py["p50_us"] / mp_row["p50_us"] if "p50_us" in py else None
        print(f"{workload:<30} {fmt(py['ops_per_s']):>13} {fmt(mp_row['ops_per_s']):>12} "
              f"{ratio:>6.2f}x "
              f"{(fmt(py.get('p50_us'), 1) + '/' + fmt(py.get('p99_us'), 1)):>18} "
              f"{(fmt(mp_row.get('p50_us'), 1) + '/' + fmt(mp_row.get('p99_us'), 1)):>17} "
              f"{(fmt(speedup, 2) + 'x') if speedup else '-':>12}")
        table.append({"workload": workload, "python": py, "mproc": mp_row,
                      "ops_ratio": ratio, "p50_speedup": speedup})
    write_json("process.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "rounds": args.rounds, "scale": args.scale,
                                "rows": table})


if __name__ == "__main__":
    main()
