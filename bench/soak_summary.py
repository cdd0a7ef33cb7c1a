"""Summary of a bench/soak.sh run: RSS, descriptors and threads early vs late (flat is the
goal), CPU, the agent's counters, and what the load generators saw.

usage: soak_summary.py OUT_DIR
"""
import csv
import json
import os
import re
import statistics
import sys

out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "samples.csv"))))
params = open(os.path.join(out, "params.txt")).read().strip()


def col(name):
    return [float(r[name]) for r in rows if r.get(name) not in (None, "")]


def window(values, start, end):
    n = len(values)
    part = values[int(n * start):max(int(n * start) + 1, int(n * end))]
    return statistics.median(part) if part else float("nan")


print("soak: " + params.replace("\n", "; "))
t = col("t_s")
print(f"samples: {len(rows)} over {int(t[-1]) if t else 0} s")
for name, unit in (("rss_kb", "KiB"), ("fds", ""), ("threads", "")):
    v = col(name)
    if not v:
        continue
    # Early = median of 10-20 % of the run (after warm-up), late = median of the last 10 %.
    early, late = window(v, 0.1, 0.2), window(v, 0.9, 1.0)
    print(f"{name}: first {v[0]:.0f}, early {early:.0f}, late {late:.0f} (late-early {late - early:+.0f} {unit}), "
          f"min {min(v):.0f}, max {max(v):.0f}")
cpu = col("cpu_s")
if len(cpu) > 1 and t[-1] > t[0]:
    print(f"agent CPU: {100 * (cpu[-1] - cpu[0]) / (t[-1] - t[0]):.1f} % of a core on average")
for name in ("cap_pauses", "fd_pauses", "accept_error_pauses", "control_timeouts", "flows_seen"):
    v = col(name)
    if v:
        print(f"{name}: {v[0]:.0f} -> {v[-1]:.0f}")
open_conns = col("open_connections")
if open_conns:
    print(f"open_connections: min {min(open_conns):.0f}, max {max(open_conns):.0f}, last {open_conns[-1]:.0f}")


def hey(name):
    path = os.path.join(out, "raw", name + ".txt")
    if not os.path.exists(path):
        return
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", text)
    errors = re.search(r"Error distribution:\n((?:\s+\[.*\n)+)", text)
    n_err = sum(int(m) for m in re.findall(r"\[(\d+)\]", errors.group(1))) if errors else 0
    print(f"{name}: {rps.group(1) if rps else '?'} req/s, codes " + " ".join(f"{c}:{n}" for c, n in codes)
          + f", client errors {n_err}")


def wrk(name):
    path = os.path.join(out, "raw", name + ".txt")
    if not os.path.exists(path):
        return
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    statuses = re.search(r"^statuses (.*)$", text, re.M)
    errors = re.search(r"Socket errors: (.*)", text)
    print(f"{name}: {rps.group(1) if rps else '?'} req/s, {total.group(1) if total else '?'} requests, "
          f"codes {statuses.group(1) if statuses else '?'}, socket errors: {errors.group(1) if errors else 'none'}")


hey("get")
hey("post")
wrk("mix")
for name in ("malformed", "dns"):
    path = os.path.join(out, "raw", name + ".txt")
    if os.path.exists(path):
        lines = [l for l in open(path) if l.startswith("{")]
        print(f"{name}: " + (json.dumps(json.loads(lines[-1])["counts"], sort_keys=True) if lines else "no report"))
