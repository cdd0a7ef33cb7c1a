#!/usr/bin/env python3
"""Summary of a bench/h2.sh run: medians per system and streams-per-connection, then the
ratio lines. Usage: h2_summary.py RESULTS_DIR "1 10 100"."""
import math
import os
import re
import statistics
import sys


def parse(txt_path):
    text = open(txt_path).read()
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", text)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
    lat = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
    status = re.search(r"status codes: (\d+) 2xx", text)
    if not done or not rps:
        return None
    meta = dict(l.strip().split("=", 1) for l in open(txt_path[:-4] + ".meta") if "=" in l)
    ok = int(status.group(1)) if status else int(done.group(1))
    cpu_us = float(meta["proxy_cpu_s"]) * 1e6 / max(ok, 1)
    return {"rps": float(rps.group(1)), "mean": lat.group(3) if lat else "?", "cpu": cpu_us, "ok": ok,
            "hwm": int(meta.get("proxy_hwm_kb", 0))}


def main():
    out, streams = sys.argv[1], sys.argv[2].split()
    raw = os.path.join(out, "raw")
    systems = sorted(d for d in os.listdir(raw) if os.path.isdir(os.path.join(raw, d)))
    table = {}
    for sysname in systems:
        for m in streams:
            runs = []
            for f in sorted(os.listdir(os.path.join(raw, sysname))):
                if f.startswith("h2-get-m%s." % m) and f.endswith(".txt"):
                    r = parse(os.path.join(raw, sysname, f))
                    if r:
                        runs.append(r)
            if runs:
                table[(sysname, m)] = {
                    "rps": statistics.median(r["rps"] for r in runs),
                    "cpu": statistics.median(r["cpu"] for r in runs),
                    "mean": runs[len(runs) // 2]["mean"],
                    "hwm": max(r["hwm"] for r in runs),
                    "n": len(runs)}
    print("| system | streams/conn | req/s | mean latency | proxy CPU us/req | peak RSS MB | runs |")
    print("|---|---|---|---|---|---|---|")
    for (sysname, m), v in sorted(table.items(), key=lambda kv: (int(kv[0][1]), kv[0][0])):
        print("| %s | %s | %.0f | %s | %.2f | %.1f | %d |" % (sysname, m, v["rps"], v["mean"], v["cpu"],
                                                           v["hwm"] / 1024, v["n"]))
    print()
    for peer in systems:
        if peer == "sluice":
            continue
        ratios = []
        for m in streams:
            s, p = table.get(("sluice", m)), table.get((peer, m))
            if s and p and p["cpu"] > 0:
                r = s["cpu"] / p["cpu"]
                ratios.append(r)
                print("ratio cpu_us_per_req h2-get-m%s sluice/%s %.2f" % (m, peer, r))
                print("ratio rps h2-get-m%s sluice/%s %.2f" % (m, peer, s["rps"] / p["rps"]))
        if ratios:
            print("ratio cpu_us_per_req h2-get sluice/%s %.2f" % (peer, math.exp(sum(map(math.log, ratios)) / len(ratios))))


if __name__ == "__main__":
    main()
