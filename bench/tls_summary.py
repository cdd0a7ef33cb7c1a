#!/usr/bin/env python3
"""Summary of a bench/tls.sh run: medians per system, mode (term, icpt) and load (ka: wrk
keep-alive; new: ab, one full handshake per request), then the ratio lines. A system whose raw
directory holds not-measured.txt is reported with that reason and gets no ratio.
Usage: tls_summary.py RESULTS_DIR."""
import math
import os
import re
import statistics
import sys

MODES = ["term", "icpt"]
LOADS = ["ka", "new"]


def parse_wrk(text):
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if not total or not rps:
        return None
    bad = int(non2xx.group(1)) if non2xx else 0
    bad += sum(int(g) for g in errors.groups()) if errors else 0
    return {"count": int(total.group(1)), "rate": float(rps.group(1)), "bad": bad}


def parse_ab(text):
    done = re.search(r"Complete requests:\s+(\d+)", text)
    failed = re.search(r"Failed requests:\s+(\d+)", text)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", text)
    taken = re.search(r"Time taken for tests:\s+([\d.]+) seconds", text)
    if not done or not taken:
        return None
    bad = (int(failed.group(1)) if failed else 0) + (int(non2xx.group(1)) if non2xx else 0)
    count = int(done.group(1))
    return {"count": count, "rate": count / float(taken.group(1)), "bad": bad}


def parse(txt_path, load):
    text = open(txt_path, errors="replace").read()
    run = parse_wrk(text) if load == "ka" else parse_ab(text)
    if not run:
        return None
    meta = dict(l.strip().split("=", 1) for l in open(txt_path[:-4] + ".meta") if "=" in l)
    ok = max(run["count"] - run["bad"], 1)
    run["cpu"] = float(meta["proxy_cpu_s"]) * 1e6 / ok
    run["hwm"] = int(meta.get("proxy_hwm_kb", 0))
    return run


def main():
    out = sys.argv[1]
    raw = os.path.join(out, "raw")
    systems = sorted(d for d in os.listdir(raw) if os.path.isdir(os.path.join(raw, d)))
    table, skipped = {}, {}
    for name in systems:
        reason = os.path.join(raw, name, "not-measured.txt")
        if os.path.exists(reason):
            skipped[name] = open(reason).read().strip()
            continue
        for mode in MODES:
            for load in LOADS:
                runs = []
                for f in sorted(os.listdir(os.path.join(raw, name))):
                    if f.startswith("%s-%s." % (mode, load)) and f.endswith(".txt"):
                        r = parse(os.path.join(raw, name, f), load)
                        if r:
                            runs.append(r)
                if runs:
                    table[(name, mode, load)] = {
                        "rate": statistics.median(r["rate"] for r in runs),
                        "cpu": statistics.median(r["cpu"] for r in runs),
                        "bad": sum(r["bad"] for r in runs),
                        "hwm": max(r["hwm"] for r in runs),
                        "n": len(runs)}
    print("| system | mode | load | req/s (ka) or handshakes/s (new) | proxy CPU us/req | errors | peak RSS MB | runs |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, mode, load), v in sorted(table.items(), key=lambda kv: (MODES.index(kv[0][1]), kv[0][2], kv[0][0])):
        print("| %s | %s | %s | %.0f | %.1f | %d | %.1f | %d |" % (
            name, mode, load, v["rate"], v["cpu"], v["bad"], v["hwm"] / 1024, v["n"]))
    print()
    for name, reason in skipped.items():
        print("%s: NOT MEASURED: %s" % (name, reason.replace("\n", " | ")))
    if "sluice" in skipped:
        print("(no sluice ratio: the numbers above are the peers' only)")
        return
    for peer in systems:
        if peer == "sluice" or peer in skipped:
            continue
        logs = []
        for mode in MODES:
            s, p = table.get(("sluice", mode, "ka")), table.get((peer, mode, "ka"))
            if s and p and p["cpu"] > 0:
                logs.append(math.log(s["cpu"] / p["cpu"]))
                print("ratio cpu_us_per_req tls-%s-ka sluice/%s %.2f" % (mode, peer, s["cpu"] / p["cpu"]))
            s, p = table.get(("sluice", mode, "new")), table.get((peer, mode, "new"))
            if s and p and p["cpu"] > 0 and p["rate"] > 0:
                print("ratio cpu_us_per_handshake tls-%s-new sluice/%s %.2f" % (mode, peer, s["cpu"] / p["cpu"]))
                print("ratio handshakes_per_s tls-%s-new sluice/%s %.2f" % (mode, peer, s["rate"] / p["rate"]))
        if logs:
            print("ratio cpu_us_per_req tls-ka sluice/%s %.2f" % (peer, math.exp(sum(logs) / len(logs))))


if __name__ == "__main__":
    main()
