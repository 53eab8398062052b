#!/usr/bin/env python3
"""What counting costs: mproc with --metrics-listen (every request counted
and timed, and /metrics scraped once a second meanwhile, as Prometheus
would) next to mproc without it, in the same run: dict set/get with 1
client (p50) and 8 clients (throughput).

usage: bench/compare_metrics.py [--ops N] [--rounds R]

Each workload runs R rounds (default 5), alternating the two managers; the
median is reported with the ratio (target: within 3 %). Writes
bench/results/metrics.json.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import ROOT, build_opt, fmt, median_rows, run_lines, write_json  # noqa: E402
from compare_tls import WORKLOADS, Mproc  # noqa: E402


def scrape_every_second(url, token, stop, scrapes):
    """Scrapes `url` once a second until `stop` is set; appends each
    outcome (True: a 200 with a body) to `scrapes`."""
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, "prometheus", token)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))
    while not stop.wait(1.0):
        try:
            with opener.open(url, timeout=10) as reply:
                scrapes.append(reply.status == 200 and bool(reply.read()))
        except OSError:
            scrapes.append(False)


def rows(mproc, bench, metrics, ops, home):
    flags = ["--metrics-listen", "127.0.0.1:0"] if metrics else []
    server = Mproc(mproc, home, flags)
    stop = threading.Event()
    scraper = None
    scrapes = []
    try:
        if metrics:
            line = server.proc.stdout.readline()  # where objects live
            line = server.proc.stdout.readline()
            url = re.search(r"metrics on (\S+)", line).group(1)
            token = subprocess.run([mproc, "metrics-token"], env=server.env,
                                   check=True, capture_output=True,
                                   text=True).stdout.strip()
            scraper = threading.Thread(target=scrape_every_second,
                                       args=(url, token, stop, scrapes))
            scraper.start()
        out = []
        for only in ("single", "many"):
            out += run_lines([bench, "--address", server.address, "--only", only,
                              "--ops", str(ops), "--clients", "8"], env=server.env)
    finally:
        stop.set()
        if scraper:
            scraper.join()
        server.stop()
    if metrics and not all(scrapes):
        raise RuntimeError(f"scrapes failed during the run: {scrapes}")
    mode = "metrics" if metrics else "plain"
    return [dict(r, system="mproc", transport=mode) for r in out
            if r.get("workload") in WORKLOADS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    mproc, bench = build_opt("//cli:mproc", "//bench:manager_bench")
    home = tempfile.mkdtemp(prefix="mproc-metrics-bench-")
    runs = []
    for _ in range(args.rounds):
        for metrics in (False, True):
            runs.append(rows(mproc, bench, metrics, args.ops, home))
    shutil.rmtree(home, ignore_errors=True)
    results = median_rows(runs)
    print(f"\n{'workload':<25} {'plain ops/s':>12} {'metrics ops/s':>14} {'ratio':>6} "
          f"{'plain p50':>9} {'metrics p50':>11} {'p50 ratio':>9}")
    table = []
    for workload in WORKLOADS:
        plain = results.get(("mproc", "plain", workload), {})
        counted = results.get(("mproc", "metrics", workload), {})
        if not plain or not counted:
            continue
        ratio = counted["ops_per_s"] / plain["ops_per_s"]
        p50 = (counted["p50_us"] / plain["p50_us"]
               if "p50_us" in plain and "p50_us" in counted else None)
        print(f"{workload:<25} {fmt(plain['ops_per_s']):>12} "
              f"{fmt(counted['ops_per_s']):>14} {fmt(ratio, 3):>6} "
              f"{fmt(plain.get('p50_us'), 1):>9} {fmt(counted.get('p50_us'), 1):>11} "
              f"{fmt(p50, 3):>9}")
        table.append({"workload": workload, "plain": plain, "metrics": counted,
                      "ops_ratio": ratio, "p50_ratio": p50})
    write_json("metrics.json", table)


if __name__ == "__main__":
    main()
