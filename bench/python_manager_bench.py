"""Python's side of the manager benchmark: the same workloads as
manager_bench.cc against multiprocessing managers, one JSON line each.

usage: python_manager_bench.py {tcp|unix} OPS CLIENTS [ENTRIES]
  tcp:  a BaseManager serving one dict, with an authkey, on 127.0.0.1
  unix: a SyncManager on a unix socket, using its dict()
"""
import json
import multiprocessing as mp
import os
import queue
import sys
import tempfile
import threading
import time
from multiprocessing.managers import AcquirerProxy, BaseManager, DictProxy, SyncManager

from bench_common import python_row

SHARED = {}
QUEUE = queue.Queue()
LOCK = threading.Lock()


def get_shared():
    return SHARED


def get_queue():
    return QUEUE


def get_lock():
    return LOCK


class DictManager(BaseManager):
    pass


DictManager.register("get_dict", callable=get_shared, proxytype=DictProxy)
DictManager.register("get_queue", callable=get_queue)
DictManager.register("get_lock", callable=get_lock, proxytype=AcquirerProxy)


def report(transport, workload, ops_per_s, lat=None, **extra):
    python_row(workload, ops_per_s, lat, transport=transport, **extra)


def set_get(d, n, base, lat=None):
    for i in range(n):
        t0 = time.perf_counter()
        if i % 2 == 0:
            d[base + i % 1000] = i
        else:
            d.get(base + i % 1000, 0)
        if lat is not None:
            lat.append((time.perf_counter() - t0) * 1e6)


def tcp_client(address, n, base, barrier):
    m = DictManager(address=address, authkey=b"bench-key")
    m.connect()
    d = m.get_dict()
    barrier.wait()
    set_get(d, n, base)


def unix_client(d, n, base, barrier):
    barrier.wait()
    set_get(d, n, base)


def run_together(procs, barrier):
    """Starts `procs`, releases them together through `barrier` (which
    counts this process too), waits for all; returns the seconds taken."""
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    return time.perf_counter() - start


def queue_client(q, address, producer, n, barrier):
    if q is None:  # tcp: connect our own proxy
        m = DictManager(address=address, authkey=b"bench-key")
        m.connect()
        q = m.get_queue()
    barrier.wait()
    for i in range(n):
        if producer:
            q.put(i)
        else:
            q.get()


def queue_workloads(transport, server, q, ops, ctx):
    for i in range(200):  # warm up
        q.put(i)
        q.get()
    pairs = ops // 2
    lat = []
    start = time.perf_counter()
    for i in range(pairs):
        t0 = time.perf_counter()
        q.put(i)
        q.get()
        lat.append((time.perf_counter() - t0) * 1e6)
    report(transport, "queue put+get, 1 client", pairs / (time.perf_counter() - start), lat)

    per = ops // 4
    barrier = ctx.Barrier(9)
    address = server.address if transport == "tcp" else None
    shared = None if transport == "tcp" else q
    procs = [ctx.Process(target=queue_client, args=(shared, address, c < 4, per, barrier))
             for c in range(8)]
    report(transport, "queue 4x4 producers/consumers", per * 4 / run_together(procs, barrier))

    lock = server.get_lock() if transport == "tcp" else server.Lock()
    lat = []
    start = time.perf_counter()
    for _ in range(pairs):
        t0 = time.perf_counter()
        lock.acquire()
        lock.release()
        lat.append((time.perf_counter() - t0) * 1e6)
    report(transport, "lock acquire+release", pairs / (time.perf_counter() - start), lat)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    transport, ops, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    entries = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ctx = mp.get_context("fork")
    if transport == "tcp":
        server = DictManager(address=("127.0.0.1", 0), authkey=b"bench-key", ctx=ctx)
        server.start()
        d = server.get_dict()
        q = server.get_queue()
    else:
        path = os.path.join(tempfile.mkdtemp(), "py-manager.sock")
        server = SyncManager(address=path, ctx=ctx)
        server.start()
        d = server.dict()
        q = server.Queue()
    server_pid = server._process.pid

    if entries:
        before = rss_kib(server_pid)
        chunk = 10000
        for base in range(0, entries, chunk):
            d.update({f"key{i}": i for i in range(base, min(base + chunk, entries))})
        after = rss_kib(server_pid)
        print(json.dumps({"system": "python", "transport": transport,
                          "workload": f"rss for {entries} entries",
                          "rss_mb": after / 1024, "growth_mb": (after - before) / 1024}),
              flush=True)
        server.shutdown()
        return

    set_get(d, 500, 0)  # warm up
    lat = []
    start = time.perf_counter()
    set_get(d, ops, 0, lat)
    report(transport, "dict set/get, 1 client", ops / (time.perf_counter() - start), lat)

    per = ops // clients
    barrier = ctx.Barrier(clients + 1)
    if transport == "tcp":
        procs = [ctx.Process(target=tcp_client, args=(server.address, per, c * 1000, barrier))
                 for c in range(clients)]
    else:
        procs = [ctx.Process(target=unix_client, args=(d, per, c * 1000, barrier))
                 for c in range(clients)]
    report(transport, f"dict set/get, {clients} clients",
           per * clients / run_together(procs, barrier))

    batch = {i: i for i in range(1000)}
    rounds = max(1, ops * 5 // 1000)
    start = time.perf_counter()
    for _ in range(rounds):
        d.update(batch)
    report(transport, "dict set_many x1000", rounds * 1000 / (time.perf_counter() - start))
    queue_workloads(transport, server, q, ops, ctx)
    server.shutdown()


if __name__ == "__main__":
    main()
