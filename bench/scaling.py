#!/usr/bin/env python3
"""mproc's scaling curves, printed and drawn: dict get latency by entries
(1k, 100k, 1M), queue put+get latency by depth (0, 1M), aggregate gets by
client processes (1, 8, 64, 256), manager memory by dict entries, and
apply_async throughput by worker processes (1, 2, 4, 8).

usage: bench/scaling.py

Writes bench/results/scaling.json and bench/results/scaling.svg.
"""
import json
import os
import re
import signal
import subprocess
import time

from bench_common import ROOT, build_opt, fmt, run_lines, write_json
from chart import write_svg
from compare_pool import start_sidecar


def manager_curves(mproc, bench):
    proc = subprocess.Popen([mproc, "manager", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, text=True)
    address = re.search(r"listening on (\S+)", proc.stdout.readline()).group(1)
    try:
        return run_lines([bench, "--manager", address, "--manager_pid", str(proc.pid)])
    finally:
        proc.terminate()
        proc.wait()


def worker_curve(mproc, pool_bench):
    rows = []
    for n in (1, 2, 4, 8):
        proc = subprocess.Popen([mproc, "up", "--listen", "127.0.0.1:0",
                                 "--processes", str(n)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        address = None
        for line in proc.stdout:
            m = re.search(r"listening on (\S+)", line)
            address = address or (m.group(1) if m else None)
            if "processes for pool" in line:
                break
        try:
            row = run_lines([pool_bench, "--manager", address, "--async_only",
                             "--processes", str(n)])[0]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        rows.append({"system": "mproc", "curve": "apply_async by worker processes",
                     "x": n, "ops_per_s": row["ops_per_s"]})
    return rows


def main():
    mproc, bench, pool_bench = build_opt("//client/cli:mproc", "//bench:scaling_bench",
                                         "//bench:pool_bench")
    started = time.time()
    rows = manager_curves(mproc, bench) + worker_curve(mproc, pool_bench)
    print(f"\n{'curve':<34} {'x':>9} {'ops/s':>12} {'p50 us':>9} {'p99 us':>9} {'manager MB':>11}")
    for r in rows:
        print(f"{r['curve']:<34} {fmt(r['x']):>9} {fmt(r['ops_per_s']):>12} "
              f"{fmt(r.get('p50_us'), 1):>9} {fmt(r.get('p99_us'), 1):>9} "
              f"{fmt(r.get('rss_mb'), 0) if r.get('rss_mb') else '-':>11}")
    print(f"({time.time() - started:.0f} s)")

    def series(curve, field):
        return [(r["x"], r[field]) for r in rows if r["curve"] == curve and field in r]

    panels = [
        {"title": "dict get latency by entries", "xlabel": "entries",
         "ylabel": "µs", "series": {"p50": series("dict get by entries", "p50_us"),
                                     "p99": series("dict get by entries", "p99_us")}},
        {"title": "queue put+get latency by depth", "xlabel": "items queued",
         "ylabel": "µs", "series": {"p50": series("queue put+get by depth", "p50_us"),
                                     "p99": series("queue put+get by depth", "p99_us")}},
        {"title": "dict gets by client processes", "xlabel": "clients",
         "ylabel": "gets/s", "series": {"aggregate": series("dict gets by clients", "ops_per_s")}},
        {"title": "apply_async by worker processes", "xlabel": "processes",
         "ylabel": "tasks/s",
         "series": {"trivial tasks": series("apply_async by worker processes", "ops_per_s")}},
        {"title": "manager memory by dict entries", "xlabel": "entries",
         "ylabel": "MB RSS", "series": {"rss": series("dict get by entries", "rss_mb")}},
    ]
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    write_svg(os.path.join(ROOT, "bench", "results", "scaling.svg"), panels)
    write_json("scaling.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows})
    print("chart: bench/results/scaling.svg")


if __name__ == "__main__":
    main()
