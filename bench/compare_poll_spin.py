#!/usr/bin/env python3
"""What the pollers' spin buys: mproc managers with `--poll-spin-us` set to
each of SPINS (default 0 and 50, the default) side by side, on loopback TCP
and on a unix socket, in the same run: dict set/get with 1 client (p50) and
8 clients (throughput), bench/manager_bench as the client.

usage: bench/compare_poll_spin.py [--ops N] [--rounds R] [--spins 0,50,...]

Each round runs every (spin, transport) pair once, alternating; medians of
R rounds (default 5) are printed with the ratio to the first spin. Writes
bench/results/poll_spin.json.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import build_opt, fmt, median_rows, run_lines, write_json  # noqa: E402
from compare_tls import WORKLOADS  # noqa: E402


def rows(mproc, bench, spin, transport, ops, home):
    """One manager with --poll-spin-us `spin` on `transport`, measured."""
    listen = f"unix:{home}/m.sock" if transport == "unix" else "127.0.0.1:0"
    env = dict(os.environ, HOME=home)
    env.pop("MPROC_AUTHKEY", None)
    env.pop("GRPC_POLL_STRATEGY", None)  # gRPC's production default
    proc = subprocess.Popen([mproc, "manager", "--listen", listen,
                             "--poll-spin-us", str(spin)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        m = re.search(r"listening on (\S+)", proc.stdout.readline())
        if not m:
            raise RuntimeError("mproc manager did not start")
        out = []
        for only in ("single", "many"):
            out += run_lines([bench, "--address", m.group(1), "--transport",
                              transport, "--only", only, "--ops", str(ops),
                              "--clients", "8"], env=env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return [dict(r, system=f"spin {spin}", transport=transport) for r in out
            if r.get("workload") in WORKLOADS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--spins", default="0,50")
    args = ap.parse_args()
    spins = [int(s) for s in args.spins.split(",")]
    mproc, bench = build_opt("//cli:mproc", "//bench:manager_bench")
    runs = []
    for r in range(args.rounds):
        for spin in spins:
            for transport in ("tcp", "unix"):
                home = tempfile.mkdtemp(prefix="mpspin-", dir="/tmp")
                try:
                    runs.append(rows(mproc, bench, spin, transport, args.ops, home))
                finally:
                    shutil.rmtree(home, ignore_errors=True)
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    results = median_rows(runs)
    base = f"spin {spins[0]}"
    print(f"\n{'workload':<25} {'transport':<9} {'spin µs':>7} {'ops/s':>9} "
          f"{'ratio':>6} {'p50 µs':>8} {'p50 ratio':>9}")
    table = []
    for workload in WORKLOADS:
        for transport in ("tcp", "unix"):
            first = results.get((base, transport, workload), {})
            for spin in spins:
                row = results.get((f"spin {spin}", transport, workload), {})
                if not row or not first:
                    continue
                ratio = row["ops_per_s"] / first["ops_per_s"]
                p50 = (row["p50_us"] / first["p50_us"]
                       if "p50_us" in row and "p50_us" in first else None)
                print(f"{workload:<25} {transport:<9} {spin:>7} "
                      f"{fmt(row['ops_per_s']):>9} {fmt(ratio, 2):>6} "
                      f"{fmt(row.get('p50_us'), 1):>8} {fmt(p50, 2):>9}")
                table.append({"workload": workload, "transport": transport,
                              "spin_us": spin, **row, "ops_ratio": ratio,
                              "p50_ratio": p50})
    write_json("poll_spin.json", table)


if __name__ == "__main__":
    main()
