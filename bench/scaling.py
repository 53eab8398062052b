#!/usr/bin/env python3
"""mproc's scaling curves, printed and drawn: dict get latency by entries
(1k, 100k, 1M), queue put+get latency by depth (0, 1M), aggregate gets by
client processes (1, 8, 64, 256) and by connections from 8 processes
(8, 64, 256), get latency and server memory with 0 /
100 / 1,000 idle connections, server memory by dict entries, and
apply_async throughput by worker processes (1, 2, 4, 8), manager memory
with 1M queued tasks and the rate at which two worker processes drain
them; Redis (a private redis-server) on the dict curves.

usage: bench/scaling.py [--rounds R]   (median of R runs per point)

Writes bench/results/scaling.json and bench/results/scaling.svg.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import time

import sys

from bench_common import ROOT, build_opt, fmt, median_rows, rss_mb, run_lines, write_json
from chart import write_svg
from compare_pool import start_sidecar


def manager_curves(mproc, bench):
    rows = []
    # The idle-connection points get a manager of their own, so that its
    # memory is its connections' and not the big dicts' it freed.
    for extra in (["--idle_only"], []):
        proc = subprocess.Popen([mproc, "manager", "--listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, text=True)
        address = re.search(r"listening on (\S+)", proc.stdout.readline()).group(1)
        try:
            rows += run_lines([bench, "--manager", address, "--manager_pid",
                               str(proc.pid), *extra])
        finally:
            proc.terminate()
            proc.wait()
    return rows


def redis_points():
    return run_lines([sys.executable, os.path.join(ROOT, "bench", "redis_bench.py"),
                      "--scaling", "1000,100000,1000000", "1,8,64,256", "0,100,1000"])


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


def deep_queue(mproc, pool_bench, n=1000000):
    """Manager memory with n queued tasks, and the drain rate once two
    worker processes come."""
    manager = subprocess.Popen([mproc, "manager", "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, text=True)
    address = re.search(r"listening on (\S+)", manager.stdout.readline()).group(1)
    rows = []
    workers = None
    try:
        base = rss_mb(manager.pid)
        client = subprocess.Popen([pool_bench, "--manager", address, "--queued", str(n)],
                                  stdout=subprocess.PIPE, text=True)
        for line in client.stdout:
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            if row["workload"] == "queued":
                rows.append({"system": "mproc", "curve": "manager memory by queued tasks",
                             "x": n, "ops_per_s": 0,
                             "rss_mb": rss_mb(manager.pid), "growth_mb": rss_mb(manager.pid) - base})
                workers = subprocess.Popen([mproc, "worker", "--manager", address,
                                            "--processes", "2"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                rows.append({"system": "mproc", "curve": row["workload"], "x": n,
                             "ops_per_s": row["ops_per_s"]})
        client.wait()
    finally:
        if workers:
            workers.send_signal(signal.SIGINT)
            workers.wait(timeout=60)
        manager.terminate()
        manager.wait()
    return rows


def run_scaling(mproc, bench, pool_bench, rounds=1):
    """Measures every curve `rounds` times (the median of each point is
    kept), prints them, writes scaling.json and draws
    bench/results/scaling.svg; returns the rows."""
    started = time.time()
    runs = [manager_curves(mproc, bench) + worker_curve(mproc, pool_bench) +
            deep_queue(mproc, pool_bench) + redis_points() for _ in range(rounds)]
    rows = list(median_rows(runs, ("system", "curve", "x")).values())
    print(f"\n{'curve':<40} {'system':<6} {'x':>9} {'ops/s':>12} {'p50 us':>9} {'p99 us':>9} "
          f"{'server MB':>10} {'server CPU':>10}")
    for r in sorted(rows, key=lambda r: (r["curve"], r["system"], r["x"])):
        cpu = f"{r['server_cpu_pct']} %" if "server_cpu_pct" in r else "-"
        print(f"{r['curve']:<40} {r['system']:<6} {fmt(r['x']):>9} {fmt(r['ops_per_s']):>12} "
              f"{fmt(r.get('p50_us'), 1):>9} {fmt(r.get('p99_us'), 1):>9} "
              f"{fmt(r.get('rss_mb'), 0) if r.get('rss_mb') else '-':>10} {cpu:>10}")
    print(f"({time.time() - started:.0f} s)")

    def series(curve, field, system="mproc"):
        return [(r["x"], r[field]) for r in rows
                if r["curve"] == curve and r["system"] == system and field in r]

    panels = [
        {"title": "dict get latency by entries", "xlabel": "entries",
         "ylabel": "µs", "series": {"mproc p50": series("dict get by entries", "p50_us"),
                                     "mproc p99": series("dict get by entries", "p99_us"),
                                     "redis p50": series("dict get by entries", "p50_us", "redis")}},
        {"title": "queue put+get latency by depth", "xlabel": "items queued",
         "ylabel": "µs", "series": {"p50": series("queue put+get by depth", "p50_us"),
                                     "p99": series("queue put+get by depth", "p99_us")}},
        {"title": "dict gets by client connections", "xlabel": "connections",
         "ylabel": "gets/s",
         "series": {"mproc, a process each": series("dict gets by clients", "ops_per_s"),
                    "mproc, 8 processes": series("dict gets by connections (8 processes)",
                                                 "ops_per_s"),
                    "redis": series("dict gets by clients", "ops_per_s", "redis")}},
        {"title": "apply_async by worker processes", "xlabel": "processes",
         "ylabel": "tasks/s",
         "series": {"trivial tasks": series("apply_async by worker processes", "ops_per_s")}},
        {"title": "get latency with idle connections", "xlabel": "idle connections",
         "ylabel": "µs", "series": {"mproc p50": series("dict get with idle connections", "p50_us"),
                                     "redis p50": series("dict get with idle connections", "p50_us", "redis")}},
        {"title": "server memory by idle connections", "xlabel": "idle connections",
         "ylabel": "MB RSS",
         "series": {"mproc": series("dict get with idle connections", "rss_mb"),
                    "redis": series("dict get with idle connections", "rss_mb", "redis")}},
        {"title": "manager memory by dict entries", "xlabel": "entries",
         "ylabel": "MB RSS",
         "series": {"mproc": series("dict get by entries", "rss_mb"),
                    "redis": series("dict get by entries", "rss_mb", "redis")}},
    ]
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    write_svg(os.path.join(ROOT, "bench", "results", "scaling.svg"), panels)
    write_json("scaling.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows})
    print("chart: bench/results/scaling.svg")
    return rows


def main():
    subprocess.run([os.path.join(ROOT, "scripts", "setup.sh"), "bench"], check=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    run_scaling(*build_opt("//cli:mproc", "//bench:scaling_bench",
                           "//bench:pool_bench"), rounds=args.rounds)


if __name__ == "__main__":
    main()
