#!/usr/bin/env python3
"""TLS, side by side in one run: mproc in plaintext and over TLS next to
Redis in plaintext and over TLS (redis-server --tls-port), on dict set/get
with 1 client (p50) and 8 clients (throughput), and the CLI's one-shot
command time in plaintext and over TLS.

usage: bench/compare_tls.py [--ops N] [--rounds R] [--cli-runs K]

Certificates are made at the start with `mproc certs create` (one CA, a
server certificate for 127.0.0.1) and serve both systems. Every server is
private, on a free loopback port; mproc uses its default authkey in both
modes (the handshake runs once per connection). Each workload runs R rounds
(default 3), alternating the systems; the median is reported. Prints ops/s,
p50 and p99 per mode, TLS's cost to each system, and mproc's ratio to Redis
in each mode; writes bench/results/tls.json.
"""
import argparse
import csv
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import ROOT, build_opt, fmt, median_rows, run_lines, write_json  # noqa: E402
from redis_bench import free_port  # noqa: E402

WORKLOADS = ["dict set/get, 1 client", "dict set/get, 8 clients"]


class Mproc:
    """A `mproc manager` on a free loopback port with `flags`, its default
    key under `home`; `env` (added to the environment) is what its clients
    need too."""

    def __init__(self, mproc, home, flags=(), env=None):
        args = [mproc, "manager", "--listen", "127.0.0.1:0", *flags]
        self.env = dict(os.environ, HOME=home, **(env or {}))
        self.env.pop("MPROC_AUTHKEY", None)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                                     env=self.env)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            raise RuntimeError("mproc manager did not start: " + line)
        self.address = m.group(1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Redis:
    def __init__(self, certs, tls):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-tls-")
        args = ["redis-server", "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir]
        if tls:
            args += ["--port", "0", "--tls-port", str(self.port),
                     "--tls-cert-file", f"{certs}/server.crt",
                     "--tls-key-file", f"{certs}/server.key",
                     "--tls-ca-cert-file", f"{certs}/ca.crt",
                     "--tls-auth-clients", "no"]
        else:
            args += ["--port", str(self.port)]
        self.tls_args = ["--tls", "--cacert", f"{certs}/ca.crt"] if tls else []
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            out = subprocess.run(["redis-cli", "-p", str(self.port), *self.tls_args,
                                  "PING"], capture_output=True, text=True).stdout
            if "PONG" in out:
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_rows(certs, tls, ops):
    server = Redis(certs, tls)
    rows = []
    try:
        for clients in (1, 8):
            out = subprocess.run(
                ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port),
                 *server.tls_args, "-t", "set,get", "-c", str(clients), "-n",
                 str(ops), "-r", "1000", "--csv"],
                capture_output=True, text=True, check=True).stdout
            parts = [(float(row["rps"]), float(row["p50_latency_ms"]) * 1000,
                      float(row["p99_latency_ms"]) * 1000)
                     for row in csv.DictReader(io.StringIO(out))]
            rps = sum(p[0] for p in parts) / len(parts)
            p50 = sum(p[1] for p in parts) / len(parts)
            p99 = sum(p[2] for p in parts) / len(parts)
            rows.append({"system": "redis", "transport": "tls" if tls else "plain",
                         "workload": WORKLOADS[0 if clients == 1 else 1],
                         "ops_per_s": rps, "p50_us": p50, "p99_us": p99})
    finally:
        server.stop()
    return rows


def tls_manager(mproc, certs, tls, home):
    if not tls:
        return Mproc(mproc, home)
    return Mproc(mproc, home,
                 ["--tls-cert", f"{certs}/server.crt", "--tls-key",
                  f"{certs}/server.key"],
                 {"MPROC_TLS_CA": f"{certs}/ca.crt"})


def mproc_rows(mproc, bench, certs, tls, ops, cli_runs, home):
    server = tls_manager(mproc, certs, tls, home)
    transport = "tls" if tls else "plain"
    try:
        rows = []
        for only in ("single", "many"):
            rows += run_lines([bench, "--address", server.address, "--only", only,
                               "--ops", str(ops), "--clients", "8"], env=server.env)
        rows = [dict(r, system="mproc", transport=transport) for r in rows
                if r.get("workload") in WORKLOADS]
        times = []
        for _ in range(cli_runs):
            start = time.perf_counter()
            subprocess.run([mproc, "--manager", server.address, "info"],
                           env=server.env, check=True, capture_output=True)
            times.append((time.perf_counter() - start) * 1e6)
        rows.append({"system": "mproc", "transport": transport,
                     "workload": "CLI one-shot (mproc info)",
                     "p50_us": statistics.median(times)})
    finally:
        server.stop()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cli-runs", type=int, default=20)
    args = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "scripts", "setup.sh"), "bench"], check=True)
    mproc, bench = build_opt("//cli:mproc", "//bench:manager_bench")
    work = tempfile.mkdtemp(prefix="mproc-tls-bench-")
    certs = os.path.join(work, "certs")
    subprocess.run([mproc, "certs", "create", certs, "--host", "127.0.0.1"],
                   check=True, capture_output=True)
    runs = []
    for _ in range(args.rounds):
        for tls in (False, True):
            runs.append(mproc_rows(mproc, bench, certs, tls, args.ops,
                                   args.cli_runs, work))
            runs.append(redis_rows(certs, tls, args.ops))
    shutil.rmtree(work, ignore_errors=True)
    results = median_rows(runs)

    def get(system, transport, workload):
        return results.get((system, transport, workload), {})

    print(f"\n{'workload':<27} {'system':<6} {'plain ops/s':>12} {'tls ops/s':>10} "
          f"{'tls/plain':>9} {'plain p50':>9} {'tls p50':>8} {'p50 tls/plain':>13}")
    table = []
    for workload in WORKLOADS + ["CLI one-shot (mproc info)"]:
        for system in ("mproc", "redis"):
            plain, tls = get(system, "plain", workload), get(system, "tls", workload)
            if not plain or not tls:
                continue
            tput = (tls["ops_per_s"] / plain["ops_per_s"]
                    if "ops_per_s" in plain else None)
            lat = tls["p50_us"] / plain["p50_us"] if "p50_us" in plain else None
            print(f"{workload:<27} {system:<6} {fmt(plain.get('ops_per_s')):>12} "
                  f"{fmt(tls.get('ops_per_s')):>10} {fmt(tput, 2):>9} "
                  f"{fmt(plain.get('p50_us')):>9} {fmt(tls.get('p50_us')):>8} "
                  f"{fmt(lat, 2):>13}")
            table.append({"workload": workload, "system": system, "plain": plain,
                          "tls": tls, "tls_over_plain_ops": tput,
                          "tls_over_plain_p50": lat})
    print(f"\n{'workload':<27} {'mproc/redis plain':>17} {'mproc/redis tls':>15}")
    for workload in WORKLOADS:
        ratios = []
        for transport in ("plain", "tls"):
            m, r = get("mproc", transport, workload), get("redis", transport, workload)
            ratios.append(m["ops_per_s"] / r["ops_per_s"] if m and r else None)
        print(f"{workload:<27} {fmt(ratios[0], 2):>17} {fmt(ratios[1], 2):>15}")
        table.append({"workload": workload, "mproc_over_redis_plain": ratios[0],
                      "mproc_over_redis_tls": ratios[1]})
    write_json("tls.json", table)


if __name__ == "__main__":
    main()
