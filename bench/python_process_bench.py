"""Python's side of the local-process benchmark: the same workloads as
process_bench.cc with multiprocessing (fork start method) and subprocess,
one JSON line each.

usage: python_process_bench.py [SCALE]
"""
import json
import multiprocessing as mp
import subprocess
import sys
import time


def report(workload, ops_per_s, lat=None):
    row = {"system": "python", "transport": "local", "workload": workload,
           "ops_per_s": ops_per_s}
    if lat:
        lat.sort()
        row["p50_us"] = lat[len(lat) // 2]
        row["p99_us"] = lat[int(0.99 * (len(lat) - 1))]
    print(json.dumps(row), flush=True)


def time_each(workload, n, op):
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        lat.append((time.perf_counter() - t0) * 1e6)
    report(workload, n / (time.perf_counter() - start), lat)


def empty():
    pass


def start_join(_):
    p = mp.Process(target=empty)
    p.start()
    p.join()


def echo(conn, parent_end):
    parent_end.close()  # else our copy keeps the pipe open: no EOF
    while True:
        try:
            conn.send_bytes(conn.recv_bytes())
        except EOFError:
            return


def produce(conn, n, size):
    message = b"x" * size
    for _ in range(n):
        conn.send(message)
    conn.close()


def pipe_round_trip(n):
    ours, theirs = mp.Pipe()
    child = mp.Process(target=echo, args=(theirs, ours))
    child.start()
    theirs.close()
    for i in range(1000):
        ours.send(i)
        ours.recv_bytes()

    def op(i):
        ours.send(i)
        ours.recv_bytes()
    time_each("pipe round trip (int)", n, op)
    ours.close()
    child.join()


def pipe_stream(n, size, workload):
    reader, writer = mp.Pipe(duplex=False)
    start = time.perf_counter()
    child = mp.Process(target=produce, args=(writer, n, size))
    child.start()
    writer.close()
    for _ in range(n):
        reader.recv()
    seconds = time.perf_counter() - start
    child.join()
    report(workload, n / seconds)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n = lambda base: max(1, int(base * scale))
    mp.set_start_method("fork")
    time_each("process start+join (empty)", n(500), start_join)
    pipe_round_trip(n(50000))
    pipe_stream(n(200000), 100, "pipe stream 100 B messages")
    pipe_stream(n(200), 1 << 20, "pipe stream 1 MiB messages")
    time_each("subprocess run(true)", n(500),
              lambda _: subprocess.run(["true"], capture_output=True))


if __name__ == "__main__":
    main()
