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


def python_row(workload, ops_per_s, lat=None, transport="local", **extra):
    """Prints one Python measurement as the JSON line the runners read;
    `lat` (µs, sorted here) adds p50 and p99."""
    row = {"system": "python", "transport": transport, "workload": workload,
           "ops_per_s": ops_per_s}
    if lat:
        lat.sort()
        row["p50_us"] = lat[len(lat) // 2]
        row["p99_us"] = lat[int(0.99 * (len(lat) - 1))]
    row.update(extra)
    print(json.dumps(row), flush=True)


def rss_mb(pid):
    """Resident memory of process `pid` in MB (0 if unknown)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def run_lines(cmd, env=None):
    """Runs `cmd` and parses each stdout line that is a JSON object."""
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def median_rows(runs, key_fields=("system", "transport", "workload")):
    """Median of each numeric field per key (by default (system,
    transport, workload))."""
    grouped = {}
    for row in (r for run in runs for r in run):
        key = tuple(row[f] for f in key_fields)
        grouped.setdefault(key, []).append(row)
    out = {}
    for key, rows in grouped.items():
        merged = {}
        for field in rows[0]:
            values = [r[field] for r in rows if field in r]
            merged[field] = (statistics.median(values)
                             if isinstance(values[0], (int, float))
                             and field not in key_fields else values[0])
        out[key] = merged
    return out


def fmt(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def write_json(name, payload):
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", name), "w") as f:
        json.dump(payload, f, indent=1)


def print_side_by_side(results, p50="ratio"):
    """Prints python vs mproc rows of `results` (from median_rows) with their
    throughput ratio (mproc / python) and, per `p50`, the p50 "ratio"
    (mproc / python, lower is better) or "speed-up" (python / mproc).
    Returns the rows as dicts for the JSON file."""
    title = "p50 ratio" if p50 == "ratio" else "p50 speed-up"
    print(f"\n{'workload':<30} {'transport':<9} {'python ops/s':>13} {'mproc ops/s':>12} "
          f"{'ratio':>7} {'python p50/p99 us':>18} {'mproc p50/p99 us':>17} {title:>12}")
    table = []
    for (system, transport, workload), py in sorted(results.items()):
        if system != "python" or "ops_per_s" not in py:
            continue
        mp_row = results.get(("mproc", transport, workload))
        if mp_row is None:
            continue
        ratio = mp_row["ops_per_s"] / py["ops_per_s"]
        p50_value = None
        if "p50_us" in py and "p50_us" in mp_row:
            p50_value = (mp_row["p50_us"] / py["p50_us"] if p50 == "ratio"
                         else py["p50_us"] / mp_row["p50_us"])
        print(f"{workload:<30} {transport:<9} {fmt(py['ops_per_s']):>13} "
              f"{fmt(mp_row['ops_per_s']):>12} {ratio:>6.2f}x "
              f"{(fmt(py.get('p50_us'), 1) + '/' + fmt(py.get('p99_us'), 1)):>18} "
              f"{(fmt(mp_row.get('p50_us'), 1) + '/' + fmt(mp_row.get('p99_us'), 1)):>17} "
              f"{(fmt(p50_value, 2) + 'x') if p50_value else '-':>12}")
        table.append({"workload": workload, "transport": transport, "python": py,
                      "mproc": mp_row, "ops_ratio": ratio, "p50_" + p50.replace("-", ""): p50_value})
    return table
