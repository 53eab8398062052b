"""Helpers the bench/compare_*.py runners share: finding the optimized
binaries, reading JSON rows, taking medians over rounds, formatting."""
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_opt(*targets):
    """Builds `targets` with -c opt; returns their paths under bazel-bin."""
    subprocess.run(["bazel", "build", "-c", "opt", "--noshow_progress", *targets],
                   cwd=ROOT, check=True)
    out = subprocess.check_output(["bazel", "info", "-c", "opt", "bazel-bin"],
                                  cwd=ROOT, stderr=subprocess.DEVNULL, text=True)
    return [os.path.join(out.strip(), t.lstrip("/").replace(":", "/"))
            for t in targets]


def run_lines(cmd, env=None):
    """Runs `cmd` and parses each stdout line that is a JSON object."""
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def median_rows(runs):
    """Median of each numeric field per (system, transport, workload)."""
    grouped = {}
    for row in (r for run in runs for r in run):
        key = (row["system"], row["transport"], row["workload"])
        grouped.setdefault(key, []).append(row)
    out = {}
    for key, rows in grouped.items():
        merged = {}
        for field in rows[0]:
            values = [r[field] for r in rows if field in r]
            merged[field] = (statistics.median(values)
                             if isinstance(values[0], (int, float)) else values[0])
        out[key] = merged
    return out


def fmt(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def write_json(name, payload):
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", name), "w") as f:
        json.dump(payload, f, indent=1)
