#!/usr/bin/env python3
"""Persistence, side by side in one run: mproc in memory / --fsync everysec /
--fsync always next to Redis without an AOF / appendfsync everysec /
appendfsync always, on the same workloads; then recovery of N dict entries
and N queued items after a SIGKILL 1.5 s after the last write (Redis:
restart with its AOF; mproc also killed at once), and the
data dir's footprint after 1M sets over 10k keys. Also the manager's CPU
per request in each mode, split into its serving threads and the threads
that keep the record: the durable store's cost apart from machine noise.

usage: bench/compare_durability.py [--ops N] [--rounds R] [--entries N]
                                   [--transports tcp,unix]

Every server is private: a `mproc manager` on a free loopback port (or a
unix socket: its clients then speak the local wire) with a fresh data dir,
a redis-server on a free port (or its own unix socket) with a fresh dir
(stopped by its pid). Rows of the unix transport say so in their name.
Each workload runs R rounds (default 3) of N operations (default 60,000);
the median is reported.
Prints ops/s, p50 and p99 per mode, mproc's ratio to its own in-memory
figure and to Redis in the same mode; writes bench/results/durability.json.
"""
import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import ROOT, build_opt, fmt, median_rows, run_lines, write_json  # noqa: E402
from redis_bench import bench as redis_benchmark, free_port, report  # noqa: E402

MPROC_MODES = {"memory": [], "everysec": ["--fsync", "everysec"],
               "always": ["--fsync", "always"]}
REDIS_MODES = {"memory": ["--appendonly", "no"],
               "everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
               "always": ["--appendonly", "yes", "--appendfsync", "always"]}


class Mproc:
    """A `mproc manager` on a free port, over `data_dir` unless in memory."""

    def __init__(self, mproc, mode, data_dir, listen="127.0.0.1:0", extra=()):
        args = [mproc, "manager", "--listen", listen] + list(extra)
        if mode != "memory":
            args += ["--data-dir", data_dir] + MPROC_MODES[mode]
        env = dict(os.environ, MPROC_AUTHKEY="")
        self.started = time.time()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        self.lines = [self.proc.stdout.readline(), ""]
        m = re.search(r"listening on (\S+)", self.lines[0])
        if not m:
            raise RuntimeError("mproc manager did not start: " + self.lines[0])
        self.ready = time.time()
        self.lines[1] = self.proc.stdout.readline()  # where its objects live
        self.address = m.group(1)
        self.env = env

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait()


class Redis:
    """A private redis-server with the persistence of `mode`, in `data_dir`."""

    def __init__(self, mode, data_dir, port=None, unix=None):
        self.port = port or free_port()
        self.started = time.time()
        where = ["--unixsocket", unix, "--unixsocketperm", "700"] if unix else []
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--dir", data_dir] + where + REDIS_MODES[mode],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 600
        while time.time() < deadline:
            out = subprocess.run(["redis-cli", "-p", str(self.port), "PING"],
                                 capture_output=True, text=True).stdout
            if "PONG" in out:  # LOADING while it replays its AOF
                self.ready = time.time()
                return
            time.sleep(0.005)
        raise RuntimeError("redis-server did not start")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)


def named(workload, transport):
    return workload if transport == "tcp" else f"{workload}, {transport}"


def mproc_rows(mproc, bench, mode, ops, transport):
    data = tempfile.mkdtemp(prefix="mproc-bench-")
    listen = "unix:" + os.path.join(data, "m.sock") if transport == "unix" else "127.0.0.1:0"
    server = Mproc(mproc, mode, os.path.join(data, "d"), listen)
    try:
        rows = run_lines([bench, "--address", server.address, "--only", "durability",
                          "--ops", str(ops), "--clients", "8"], env=server.env)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    return [dict(r, system="mproc", transport=mode,
                 workload=named(r["workload"], transport)) for r in rows]


def redis_rows(mode, ops, transport):
    data = tempfile.mkdtemp(prefix="redis-bench-")
    unix = os.path.join(data, "r.sock") if transport == "unix" else None
    server = Redis(mode, data, unix=unix)
    rows = []
    try:
        for clients in (1, 8):
            sets = redis_benchmark(server.port, "set", clients, ops, unix=unix)
            pairs = redis_benchmark(server.port, "lpush,rpop", clients, ops // 2,
                                    unix=unix)
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                report(f"dict set, {clients} client{'s' if clients > 1 else ''}",
                       [sets["SET"]])
                report(f"queue put+get, {clients} client{'s' if clients > 1 else ''}",
                       [pairs["LPUSH"], pairs["RPOP"]], pair=True)
            for line in buf.getvalue().splitlines():
                row = json.loads(line)
                if clients > 1:  # as mproc's: throughput only
                    row.pop("p50_us", None)
                    row.pop("p99_us", None)
                rows.append(dict(row, transport=mode,
                                 workload=named(row["workload"], transport)))
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    return rows


def dir_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total / 1e6


# The manager's threads by what they do: serving, or keeping the record.
STORE_THREADS = ("mproc-apply", "mproc-sync", "rocksdb:")


def thread_cpu(pid):
    """CPU seconds of process `pid` so far: (serving threads, store threads)."""
    serving = store = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if name.startswith(STORE_THREADS):
            store += seconds
        else:
            serving += seconds
    return serving, store


def cpu_per_request(mproc, bench, ops, rounds):
    """The manager's CPU per request over the durability workloads (4 x ops
    requests plus warm-ups), per mode, split into its serving threads and the
    threads that keep the record. Run with --poll-spin-us 0, so that a
    serving thread's CPU is work done, not polling while it waits: this is
    what the durable store costs, apart from how busy or noisy the machine
    is."""
    requests = 4 * ops + 900
    out = {}
    for _ in range(rounds):
        for mode in MPROC_MODES:
            data = tempfile.mkdtemp(prefix="mproc-cpu-")
            server = Mproc(mproc, mode, os.path.join(data, "d"),
                           extra=["--poll-spin-us", "0"])
            try:
                run_lines([bench, "--address", server.address, "--only", "durability",
                           "--ops", str(ops), "--clients", "8"], env=server.env)
                serving, store = thread_cpu(server.proc.pid)
            finally:
                server.stop()
                shutil.rmtree(data, ignore_errors=True)
            out.setdefault(mode, []).append((serving, store))
    result = {}
    for mode, samples in out.items():
        serving = statistics.median(s for s, _ in samples) / requests * 1e6
        store = statistics.median(t for _, t in samples) / requests * 1e6
        result[mode] = {"serving_us": serving, "store_us": store}
    return result


def mproc_recovery(mproc, bench, entries, pause):
    data = tempfile.mkdtemp(prefix="mproc-recover-")
    d = os.path.join(data, "d")
    server = Mproc(mproc, "everysec", d)
    run_lines([bench, "--address", server.address, "--only", "fill",
               "--fill", str(entries)], env=server.env)
    time.sleep(pause)
    server.stop(signal.SIGKILL)
    server = Mproc(mproc, "everysec", d)
    loaded = re.search(r"records in (\S+)", server.lines[1])
    out = {"seconds": server.ready - server.started,
           "loaded_in": loaded.group(1) if loaded else "?",
           "disk_mb": dir_mb(d), "line": server.lines[1].strip()}
    server.stop()
    shutil.rmtree(data, ignore_errors=True)
    return out


def recovery(mproc, bench, entries):
    """Seconds from start to serving after a SIGKILL, with `entries` dict
    entries and queued items (mproc) or keys and list items (Redis). Both
    are killed 1.5 s after the last write, when everysec has synced; mproc
    also at once, when its log still holds what its database has not taken
    (the "at_once" figure)."""
    out = {"mproc": mproc_recovery(mproc, bench, entries, 1.5),
           "mproc_at_once": mproc_recovery(mproc, bench, entries, 0)}

    data = tempfile.mkdtemp(prefix="redis-recover-")
    server = Redis("everysec", data)
    commands = "".join(f"SET key:{i} {i}\r\nRPUSH q {i}\r\n" for i in range(entries))
    subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input=commands,
                   capture_output=True, text=True, check=True)
    time.sleep(1.5)  # everysec: the AOF reaches the disk (mproc: the same)
    port = server.port
    server.stop(signal.SIGKILL)
    server = Redis("everysec", data, port)
    out["redis"] = {"seconds": server.ready - server.started, "disk_mb": dir_mb(data)}
    server.stop()
    shutil.rmtree(data, ignore_errors=True)
    return out


def churn(mproc, bench):
    data = tempfile.mkdtemp(prefix="mproc-churn-")
    d = os.path.join(data, "d")
    server = Mproc(mproc, "everysec", d)
    try:
        rows = run_lines([bench, "--address", server.address, "--only", "churn"],
                         env=server.env)
        time.sleep(2)  # background compaction settles
        size = dir_mb(d)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    live_mb = 10000 * (100 + 16) / 1e6
    return {"sets_per_s": rows[0]["ops_per_s"], "disk_mb": size, "live_mb": live_mb}


def main():
    ap = argparse.ArgumentParser()
    # Long enough that the 8-client phases last about a second each: at
    # 20,000 they took a quarter of one, and the same mode varied ±15 %.
    ap.add_argument("--ops", type=int, default=60000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--transports", default="tcp,unix")
    args = ap.parse_args()
    transports = args.transports.split(",")
    subprocess.run([os.path.join(ROOT, "scripts", "setup.sh"), "bench"], check=True)
    mproc, bench = build_opt("//cli:mproc", "//bench:manager_bench")

    runs = []
    for _ in range(args.rounds):
        for transport in transports:
            for mode in MPROC_MODES:
                runs.append(mproc_rows(mproc, bench, mode, args.ops, transport))
                runs.append(redis_rows(mode, args.ops, transport))
    results = median_rows(runs)

    print(f"\n{'workload':<32} {'mode':<9} {'mproc ops/s':>12} {'p50 us':>8} {'p99 us':>8}"
          f" {'redis ops/s':>12} {'p50 us':>8} {'vs redis':>9} {'vs memory':>10}"
          f" {'p50 vs mem':>10}")
    table = []
    for workload in sorted({w for (_, _, w) in results}):
        for mode in MPROC_MODES:
            mine = results.get(("mproc", mode, workload))
            theirs = results.get(("redis", mode, workload))
            base = results.get(("mproc", "memory", workload))
            if not mine:
                continue
            vs_redis = mine["ops_per_s"] / theirs["ops_per_s"] if theirs else None
            vs_mem = mine["ops_per_s"] / base["ops_per_s"] if base else None
            p50_mem = (mine["p50_us"] / base["p50_us"]
                       if base and mine.get("p50_us") and base.get("p50_us") else None)
            print(f"{workload:<32} {mode:<9} {fmt(mine['ops_per_s']):>12}"
                  f" {fmt(mine.get('p50_us'), 1):>8} {fmt(mine.get('p99_us'), 1):>8}"
                  f" {fmt(theirs and theirs['ops_per_s']):>12}"
                  f" {fmt(theirs and theirs.get('p50_us'), 1):>8}"
                  f" {(f'{vs_redis:.2f}x' if vs_redis else ''):>9}"
                  f" {(f'{vs_mem:.2f}x' if vs_mem else ''):>10}"
                  f" {(f'{p50_mem:.2f}x' if p50_mem else ''):>10}")
            table.append({"workload": workload, "mode": mode, "mproc": mine,
                          "redis": theirs, "vs_redis": vs_redis, "vs_memory": vs_mem,
                          "p50_vs_memory": p50_mem})

    cpu = cpu_per_request(mproc, bench, args.ops, args.rounds)
    base = cpu["memory"]["serving_us"] + cpu["memory"]["store_us"]
    print("\nmanager CPU per request (µs; --poll-spin-us 0, median of rounds):")
    for mode, c in cpu.items():
        total = c["serving_us"] + c["store_us"]
        print(f"  {mode:<9} serving {c['serving_us']:6.2f}  store threads"
              f" {c['store_us']:5.2f}  total {total:6.2f}  ({total / base:.2f}x memory)")

    rec = recovery(mproc, bench, args.entries)
    m, r = rec["mproc"], rec["redis"]
    n = 2 * args.entries
    print(f"\nrecovery after SIGKILL of {args.entries:,} dict entries + {args.entries:,}"
          f" queued items: mproc {m['seconds']:.2f} s to serving"
          f" ({n / m['seconds']:,.0f} records/s; load {m['loaded_in']}; data dir"
          f" {m['disk_mb']:.0f} MB), redis {r['seconds']:.2f} s with its AOF"
          f" ({r['disk_mb']:.0f} MB); mproc/redis time {m['seconds'] / r['seconds']:.2f}x")
    print(f"  {m['line']}")
    a = rec["mproc_at_once"]
    print(f"  killed at once after the last write: mproc {a['seconds']:.2f} s to serving"
          f" ({n / a['seconds']:,.0f} records/s; load {a['loaded_in']}),"
          f" {a['seconds'] / r['seconds']:.2f}x redis's time")
    c = churn(mproc, bench)
    print(f"churn: 1M sets of 100-byte values over 10k keys at {c['sets_per_s']:,.0f}"
          f" sets/s leaves a {c['disk_mb']:.1f} MB data dir for ~{c['live_mb']:.1f} MB"
          f" of live data")
    write_json("durability.json", {"when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                   "ops": args.ops, "rounds": args.rounds,
                                   "rows": table, "cpu_per_request": cpu,
                                   "recovery": rec, "churn": c})
    print("table: bench/results/durability.json")


if __name__ == "__main__":
    main()
