#!/usr/bin/python3
"""mproc's Python package next to Python's own managers, in one run.

usage: bench/compare_python.py [--ops N] [--rounds R]

The same workloads on four managers, each on its own transport pair:
  python unix: multiprocessing.Manager() (a SyncManager on its unix socket)
  mproc  unix: mproc.Manager() (a private mproc manager on a unix socket)
  python tcp:  a BaseManager on 127.0.0.1 with an authkey
  mproc  tcp:  mproc.SyncManager(("127.0.0.1", 0)) (keyed, loopback)
and the C++ client (bench/manager_bench.cc) on the mproc managers, the
floor the Python layer adds to. Workloads: dict get, dict set, dict
set/get alternating (as manager_bench), list append, queue put+get, lock
acquire+release with one process (p50/p99 µs, ops/s), and dict set/get
with 8 processes (aggregate ops/s). Each runs R rounds (default 3); the
medians are printed side by side with the ratios the issue sets targets
on: p50 mproc/Python ≤ 1.0 on the same transport; 8-process aggregate
≥ 2x Python's; Python over the C++ client ≤ 5 µs per call. Writes
bench/results/python.json. Needs the package: scripts/install_python.sh
--target DIR, run with PYTHONPATH=DIR (or installed system-wide).
"""
import argparse
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.managers import AcquirerProxy, BaseManager, DictProxy, ListProxy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import build_opt, fmt, median_rows, run_lines, write_json  # noqa: E402
from python_manager_bench import run_together  # noqa: E402

import mproc  # noqa: E402
from mproc import managers as mproc_managers  # noqa: E402

KEY = b"bench-python-key"
SHARED = {}
SHARED_LIST = []
QUEUE = queue.Queue()
LOCK = threading.Lock()


class TcpManager(BaseManager):
    pass


TcpManager.register("get_dict", callable=lambda: SHARED, proxytype=DictProxy)
TcpManager.register("get_list", callable=lambda: SHARED_LIST, proxytype=ListProxy)
TcpManager.register("get_queue", callable=lambda: QUEUE)
TcpManager.register("get_lock", callable=lambda: LOCK, proxytype=AcquirerProxy)


def timed(n, op):
    """Runs op(i) n times; (ops/s, sorted latencies in µs)."""
    lat = []
    clock = time.perf_counter
    start = clock()
    for i in range(n):
        t0 = clock()
        op(i)
        lat.append((clock() - t0) * 1e6)
    total = clock() - start
    lat.sort()
    return n / total, lat


def row(system, transport, workload, ops_per_s, lat=None):
    r = {"system": system, "transport": transport, "workload": workload,
         "ops_per_s": ops_per_s}
    if lat:
        r["p50_us"] = lat[len(lat) // 2]
        r["p99_us"] = lat[int(0.99 * (len(lat) - 1))]
    return r


def set_get(d, n, base):
    for i in range(n):
        if i % 2 == 0:
            d[base + i % 1000] = i
        else:
            d.get(base + i % 1000, 0)


def client_loop(d, n, base, barrier):
    barrier.wait()
    set_get(d, n, base)


def tcp_client_loop(address, n, base, barrier):
    m = TcpManager(address=address, authkey=KEY)
    m.connect()
    client_loop(m.get_dict(), n, base, barrier)


def aggregate(ctx, target, args_of, clients, per):
    """Aggregate ops/s of `clients` processes released together."""
    barrier = ctx.Barrier(clients + 1)
    procs = [ctx.Process(target=target, args=args_of(c, barrier))
             for c in range(clients)]
    return per * clients / run_together(procs, barrier)


def workloads(system, transport, d, l, q, lock, ops, eight):
    """The one-process rows, then the 8-process one (eight(per) → ops/s)."""
    rows = []
    set_get(d, 1000, 0)  # warm up
    for i in range(1000):
        d[i] = i
    rows.append(row(system, transport, "dict get", *timed(ops, lambda i: d[i % 1000])))
    rows.append(row(system, transport, "dict set",
                    *timed(ops, lambda i: d.__setitem__(i % 1000, i))))
    rows.append(row(system, transport, "dict set/get",
                    *timed(ops, lambda i: d.__setitem__(i % 1000, i) if i % 2 == 0
                           else d.get(i % 1000, 0))))
    rows.append(row(system, transport, "list append", *timed(ops, l.append)))

    def put_get(i):
        q.put(i)
        q.get()

    rows.append(row(system, transport, "queue put+get", *timed(ops // 2, put_get)))

    def acquire_release(_):
        lock.acquire()
        lock.release()

    rows.append(row(system, transport, "lock acquire+release",
                    *timed(ops // 2, acquire_release)))
    per = ops // 8
    rows.append(row(system, transport, "dict set/get, 8 processes", eight(per)))
    return rows


def python_unix(ops, ctx):
    with mp.Manager() as m:
        d = m.dict()
        return workloads("python", "unix", d, m.list(), m.Queue(), m.Lock(), ops,
                         lambda per: aggregate(ctx, client_loop,
                                               lambda c, b: (d, per, c * 1000, b), 8, per))


def python_tcp(ops, ctx):
    server = TcpManager(address=("127.0.0.1", 0), authkey=KEY, ctx=ctx)
    server.start()
    try:
        return workloads("python", "tcp", server.get_dict(), server.get_list(),
                         server.get_queue(), server.get_lock(), ops,
                         lambda per: aggregate(ctx, tcp_client_loop,
                                               lambda c, b: (server.address, per, c * 1000, b),
                                               8, per))
    finally:
        server.shutdown()


def mproc_side(transport, ops, ctx, bench):
    address = None if transport == "unix" else ("127.0.0.1", 0)
    m = mproc.SyncManager(address)
    m.start()
    try:
        d = m.dict()
        rows = workloads("mproc", transport, d, m.list(), m.Queue(), m.Lock(), ops,
                         lambda per: aggregate(ctx, client_loop,
                                               lambda c, b: (d, per, c * 1000, b), 8, per))
        # The C++ client on the same manager: the floor under the package.
        a = m._address
        env = dict(os.environ, MPROC_AUTHKEY=mproc_managers._private_key().decode())
        for r in run_lines([bench, "--address", a, "--transport", transport,
                            "--ops", str(ops), "--clients", "8", "--only", "single"], env=env):
            if r.get("workload") == "dict set/get, 1 client":
                r.update(system="c++", workload="dict set/get")
                rows.append(r)
        return rows
    finally:
        m.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    (bench, ) = build_opt("//bench:manager_bench")
    ctx = mp.get_context("fork")
    runs = []
    for r in range(args.rounds):
        rows = []
        for side in (lambda: python_unix(args.ops, ctx),
                     lambda: mproc_side("unix", args.ops, ctx, bench),
                     lambda: python_tcp(args.ops, ctx),
                     lambda: mproc_side("tcp", args.ops, ctx, bench)):
            rows += side()
        runs.append(rows)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    med = median_rows(runs)
    print(f"{'workload':28} {'transport':9} {'python p50':>10} {'mproc p50':>10} "
          f"{'ratio':>6} {'p99 py/mp':>15} {'python ops/s':>13} {'mproc ops/s':>12} "
          f"{'ratio':>6}")
    table = []
    for (system, transport, workload), m in sorted(med.items(), key=lambda kv: kv[0][::-1]):
        if system != "mproc":
            continue
        p = med.get(("python", transport, workload), {})
        ratio = (m["p50_us"] / p["p50_us"]) if "p50_us" in m and p.get("p50_us") else None
        tput = m["ops_per_s"] / p["ops_per_s"] if p.get("ops_per_s") else None
        p99 = f"{fmt(p.get('p99_us'), 1)}/{fmt(m.get('p99_us'), 1)}"
        print(f"{workload:28} {transport:9} {fmt(p.get('p50_us'), 1):>10} "
              f"{fmt(m.get('p50_us'), 1):>10} {fmt(ratio, 2):>6} {p99:>15} "
              f"{fmt(p.get('ops_per_s')):>13} {fmt(m['ops_per_s']):>12} {fmt(tput, 2):>6}")
        table.append({"workload": workload, "transport": transport, "python": p, "mproc": m,
                      "p50_ratio": ratio, "throughput_ratio": tput})
    for transport in ("unix", "tcp"):
        cpp = med.get(("c++", transport, "dict set/get"))
        py = med.get(("mproc", transport, "dict set/get"))
        if cpp and py:
            print(f"Python package over the C++ client, dict set/get p50, {transport}: "
                  f"{py['p50_us'] - cpp['p50_us']:+.1f} µs ({fmt(py['p50_us'], 1)} vs "
                  f"{fmt(cpp['p50_us'], 1)})")
            table.append({"workload": "overhead over c++", "transport": transport,
                          "python_package_p50_us": py["p50_us"], "cpp_p50_us": cpp["p50_us"]})
    write_json("python.json", {"ops": args.ops, "rounds": args.rounds, "rows": table})


if __name__ == "__main__":
    main()
