"""Redis's side of bench/compare: a private redis-server (loopback, free
port, no persistence) measured with redis-benchmark on the workloads mproc
has a counterpart for, one JSON line each (system "redis").

usage: redis_bench.py [OPS]
       redis_bench.py --scaling SIZES CLIENTS [IDLE]   (comma-separated lists)

Rows: "dict set/get, 1 client" (SET and GET, -c 1), "dict set/get, 8
clients" (-c 8), "dict get, pipelined" (GET -c 50 -P 16), "counter
increment, 1 client" (INCR), "list append, 1 client" (RPUSH) and "queue
put+get, 1 client" (LPUSH then RPOP: one put+get pair, as mproc times it).
"""
import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from bench_common import rss_mb


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()  # by its pid: only ours
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def bench(port, tests, clients, ops, pipeline=1, unix=None):
    """{test: (rps, p50_us, p99_us)} from redis-benchmark --csv (over the
    unix socket `unix` if given, else TCP to `port`)."""
    where = ["-s", unix] if unix else ["-h", "127.0.0.1", "-p", str(port)]
    out = subprocess.run(
        ["redis-benchmark"] + where + ["-t", tests,
         "-c", str(clients), "-n", str(ops), "-P", str(pipeline), "-r", "1000",
         "--csv"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for row in csv.DictReader(io.StringIO(out)):
        name = row["test"].split()[0].upper()
        rows[name] = (float(row["rps"]), float(row["p50_latency_ms"]) * 1000,
                      float(row["p99_latency_ms"]) * 1000)
    return rows


def report(workload, parts, pair=False):
    """One row from redis-benchmark tests: averaged, or (pair) one op of
    each in sequence."""
    if pair:
        rps = 1 / sum(1 / p[0] for p in parts)
        p50 = sum(p[1] for p in parts)
        p99 = sum(p[2] for p in parts)
    else:
        rps = sum(p[0] for p in parts) / len(parts)
        p50 = sum(p[1] for p in parts) / len(parts)
        p99 = sum(p[2] for p in parts) / len(parts)
    row = {"system": "redis", "transport": "tcp", "workload": workload,
           "ops_per_s": rps, "p50_us": p50, "p99_us": p99}
    print(json.dumps(row), flush=True)


def populate(port, n):
    """SET key:<12 digits> <i> for i < n, through redis-cli --pipe (the key
    names redis-benchmark's __rand_int__ produces)."""
    commands = "".join(f"SET key:{i:012d} {i}\r\n" for i in range(n))
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                   input=commands, capture_output=True, text=True, check=True)


def custom(port, clients, ops, keyspace, *command):
    """(rps, p50_us, p99_us) of one custom command from redis-benchmark."""
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
         "-n", str(ops), "-r", str(keyspace), "--csv", *command],
        capture_output=True, text=True, check=True).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    return (float(row["rps"]), float(row["p50_latency_ms"]) * 1000,
            float(row["p99_latency_ms"]) * 1000)


def point(curve, x, rps, p50=None, p99=None, rss=None):
    row = {"system": "redis", "curve": curve, "x": x, "ops_per_s": rps}
    if p50 is not None:
        row.update(p50_us=p50, p99_us=p99)
    if rss is not None:
        row["rss_mb"] = rss
    print(json.dumps(row), flush=True)


def connected_clients(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "clients"],
                         capture_output=True, text=True, check=True).stdout
    return int(re.search(r"connected_clients:(\d+)", out).group(1))


def idle_point(server, n):
    """GET latency and server memory with n idle connections open
    (redis-benchmark's idle mode holds them)."""
    holder = None
    if n:
        holder = subprocess.Popen(["redis-benchmark", "-p", str(server.port), "-I",
                                   "-c", str(n)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while connected_clients(server.port) < n + 1 and time.time() < deadline:
            time.sleep(0.05)  # polling the server's own count
    try:
        rps, p50, p99 = custom(server.port, 1, 5000, 1, "GET", "k")
        point("dict get with idle connections", n, rps, p50, p99,
              rss_mb(server.proc.pid))
    finally:
        if holder:
            holder.kill()
            holder.wait()


def scaling(sizes, clients, idle=()):
    """The scaling curves' Redis points: GET by keys held (and the server's
    memory), GET throughput by client connections, GET latency (and memory)
    with idle connections open."""
    server = RedisServer()
    try:
        for n in sizes:
            subprocess.run(["redis-cli", "-p", str(server.port), "FLUSHALL"],
                           capture_output=True, check=True)
            populate(server.port, n)
            rps, p50, p99 = custom(server.port, 1, 5000, n, "GET", "key:__rand_int__")
            point("dict get by entries", n, rps, p50, p99, rss_mb(server.proc.pid))
        for c in clients:
            rps, _, _ = custom(server.port, c, max(20000, 200 * c), 1000,
                               "GET", "key:__rand_int__")
            point("dict gets by clients", c, rps)
        subprocess.run(["redis-cli", "-p", str(server.port), "FLUSHALL"],
                       capture_output=True, check=True)
        subprocess.run(["redis-cli", "-p", str(server.port), "SET", "k", "1"],
                       capture_output=True, check=True)
        for n in idle:
            idle_point(server, n)
    finally:
        server.stop()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--scaling":
        scaling([int(x) for x in sys.argv[2].split(",")],
                [int(x) for x in sys.argv[3].split(",")],
                [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 else ())
        return
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    server = RedisServer()
    try:
        one = bench(server.port, "set,get,incr,rpush,lpush,rpop", 1, ops)
        report("dict set/get, 1 client", [one["SET"], one["GET"]])
        report("counter increment, 1 client", [one["INCR"]])
        report("list append, 1 client", [one["RPUSH"]])
        report("queue put+get, 1 client", [one["LPUSH"], one["RPOP"]], pair=True)
        eight = bench(server.port, "set,get", 8, ops)
        report("dict set/get, 8 clients", [eight["SET"], eight["GET"]])
        piped = bench(server.port, "get", 50, ops * 10, pipeline=16)
        report("dict get, pipelined", [piped["GET"]])
    finally:
        server.stop()


if __name__ == "__main__":
    main()
