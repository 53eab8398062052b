"""Python's side of the task-pool benchmark: multiprocessing.Pool(2) and
concurrent.futures.ProcessPoolExecutor(2) on the workloads of
pool_bench.cc, one JSON line each.

usage: python_pool_bench.py [SCALE]
"""
import concurrent.futures
import multiprocessing as mp
import sys
import time

from bench_common import python_row


report = python_row


def echo(*args):
    return list(args)


def identity(x):
    return x


def sleep_ms(_):
    time.sleep(0.001)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n_async = int(20000 * scale)
    n_apply = int(2000 * scale)
    n_map = int(100000 * scale)
    n_map1 = int(20000 * scale)
    n_sleep = int(2000 * scale)
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        pool.map(identity, range(100))  # warm up both processes

        done = []
        start = time.perf_counter()
        for i in range(n_async):
            pool.apply_async(echo, (i,), callback=done.append)
        while len(done) < n_async:
            time.sleep(0.0005)
        report("apply_async trivial", n_async / (time.perf_counter() - start))

        lat = []
        start = time.perf_counter()
        for i in range(n_apply):
            t0 = time.perf_counter()
            pool.apply(echo, (i,))
            lat.append((time.perf_counter() - t0) * 1e6)
        report("apply (blocking)", n_apply / (time.perf_counter() - start), lat)

        items = list(range(n_map))
        start = time.perf_counter()
        pool.map(identity, items)
        report("map, default chunks", n_map / (time.perf_counter() - start))

        items = list(range(n_map1))
        start = time.perf_counter()
        pool.map(identity, items, chunksize=1)
        report("map, chunksize=1", n_map1 / (time.perf_counter() - start))

        start = time.perf_counter()
        pool.map(sleep_ms, range(n_sleep), chunksize=1)
        wall = time.perf_counter() - start
        ideal = n_sleep * 0.001 / 2
        report("1 ms tasks (efficiency %)", 100 * ideal / wall)

    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        list(ex.map(identity, range(100)))
        start = time.perf_counter()
        futures = [ex.submit(echo, i) for i in range(n_async)]
        for f in futures:
            f.result()
        report("apply_async trivial", n_async / (time.perf_counter() - start),
               transport="executor")


if __name__ == "__main__":
    main()
