#!/usr/bin/env python3
"""The Python side of bench/compare_prefork.py.

usage: python_prefork_bench.py server PROCESSES THREADS
         the seed's concurrent server: a socket on a free loopback port
         shared by a multiprocessing.Pool of PROCESSES processes, each
         accepting and handing connections to a ThreadPool of THREADS
         threads that echo (prints "port N", then serves until killed)
       python_prefork_bench.py threadpool TASKS
         ThreadPool(4).apply_async of TASKS trivial tasks, and apply round
         trips (JSON rows)
"""
import socket
import sys
import time
from multiprocessing import Pool
from multiprocessing.pool import ThreadPool

from bench_common import python_row


def worker_thread(conn):  # the seed's woeker_thread
    while True:
        data = conn.recv(65536)
        if data:
            conn.sendall(data)
        else:
            conn.close()
            break


def worker_process(server, threads):  # the seed's worker_process
    pool = ThreadPool(threads)
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pool.apply_async(worker_thread, args=(conn,))


def serve(processes, threads):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1000)
    print("port", server.getsockname()[1], flush=True)
    pool = Pool(processes)
    for _ in range(processes):
        pool.apply_async(func=worker_process, args=(server, threads))
    pool.close()
    pool.join()


def threadpool(tasks):
    pool = ThreadPool(4)
    start = time.perf_counter()
    results = [pool.apply_async(lambda x: x + 1, (i,)) for i in range(tasks)]
    total = sum(r.get() for r in results)
    elapsed = time.perf_counter() - start
    assert total > 0
    python_row("ThreadPool apply_async, 4 threads", tasks / elapsed,
               transport="threads")
    rounds = min(tasks, 20000)
    lat = []
    start = time.perf_counter()
    for i in range(rounds):
        t = time.perf_counter()
        pool.apply(lambda x: x, (i,))
        lat.append((time.perf_counter() - t) * 1e6)
    python_row("ThreadPool apply round trip",
               rounds / (time.perf_counter() - start), lat, transport="threads")
    pool.close()
    pool.join()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        threadpool(int(sys.argv[2]))
