"""Redis's side of bench/compare: a private redis-server (loopback, free
port, no persistence) measured with redis-benchmark on the workloads mproc
has a counterpart for, one JSON line each (system "redis").

usage: redis_bench.py [OPS]

Rows: "dict set/get, 1 client" (SET and GET, -c 1), "dict set/get, 8
clients" (-c 8), "dict get, pipelined" (GET -c 50 -P 16), "counter
increment, 1 client" (INCR), "list append, 1 client" (RPUSH) and "queue
put+get, 1 client" (LPUSH then RPOP: one put+get pair, as mproc times it).
"""
import csv
import io
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time


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


def bench(port, tests, clients, ops, pipeline=1):
    """{test: (rps, p50_us, p99_us)} from redis-benchmark --csv."""
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", tests,
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


def main():
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
