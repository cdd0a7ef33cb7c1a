#!/usr/bin/env python3
"""Compare two Sluice builds measured by `SLUICE_BASE=... bash bench/run.sh` (phase compare):
the head build's runs in RESULT_DIR/raw, the base build's in RESULT_DIR/base/raw, each rep of
each build in its own sandbox with the peers measured again in it.

Per scenario and build: Sluice's CPU µs/request and req/s, and Sluice / peer CPU per request
with the peer of the same sandbox (median over reps, min..max). The change head vs base is
taken per rep (the two builds of a rep ran minutes apart, the order alternating), so load that
drifts over the run cancels; the verdict is "within noise" when those per-rep changes straddle
zero or their median is under NOISE_PCT (default 3 %), else better/worse by the median change.

usage: before_after.py RESULT_DIR
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize import PEERS, SCENARIOS, order, parse_hey, parse_wrk, read_meta  # noqa: E402

NOISE_PCT = float(os.environ.get("NOISE_PCT", "3"))


def by_rep(data, system, scenario):
    """rep -> run dict"""
    return {r["rep"]: r for r in data.get(system, {}).get(scenario, [])}


def collect_reps(raw):
    """system -> scenario -> [run dicts with their rep number] (as summarize.collect)."""
    out = {}
    if not os.path.isdir(raw):
        return out
    for sys_ in os.listdir(raw):
        d = os.path.join(raw, sys_)
        if not os.path.isdir(d) or sys_ == "scale":
            continue
        for fn in sorted(os.listdir(d)):
            m = re.match(r"(.+)\.(\d+)\.txt$", fn)
            if not m:
                continue
            sc, rep = m.group(1), int(m.group(2))
            text = open(os.path.join(d, fn), errors="replace").read()
            r = parse_hey(text) if sc.endswith("-rate") else parse_wrk(text)
            r.update(read_meta(os.path.join(d, f"{sc}.{rep}.meta")))
            cpu = float(r.get("proxy_cpu_s", 0))
            r["cpu_us"] = cpu / r["requests"] * 1e6 if r.get("requests") and cpu > 0 else None
            r["rep"] = rep
            out.setdefault(sys_, {}).setdefault(sc, []).append(r)
    return out


def spread(vals, nd=3):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return f"{statistics.median(vals):.{nd}f} ({min(vals):.{nd}f}..{max(vals):.{nd}f})"


def pct(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-", None
    m = statistics.median(vals)
    return f"{m:+.1f} % ({min(vals):+.1f}..{max(vals):+.1f})", vals


def verdict(vals, lower_is_better=True):
    if not vals:
        return "-"
    m = statistics.median(vals)
    if (min(vals) <= 0 <= max(vals)) or abs(m) < NOISE_PCT:
        return "within noise"
    better = (m < 0) == lower_is_better
    return f"{'better' if better else 'worse'} by {abs(m):.1f} %"


def main():
    root = sys.argv[1]
    head, base = collect_reps(os.path.join(root, "raw")), collect_reps(os.path.join(root, "base", "raw"))
    for name, d in (("head", os.path.join(root, "raw")), ("base", os.path.join(root, "base", "raw"))):
        p = os.path.join(d, "loadavg.txt")
        if os.path.exists(p):
            print(f"load average (1/5/15 min) at the start of each {name} sandbox: "
                  + "; ".join(f"rep {l.split()[0]} {' '.join(l.split()[1:4])} at {l.split()[4]}" for l in open(p)))
    print()
    print("| scenario | build | Sluice µs/req | Sluice req/s | " + " | ".join(f"Sluice/{p} CPU/req" for p in PEERS)
          + " |")
    print("|---|---|---|---|" + "---|" * len(PEERS))
    changes = {}
    for sc in order({sc for d in (head, base) for sc in d.get("sluice", {})}, SCENARIOS):
        for name, d in (("base", base), ("head", head)):
            s = by_rep(d, "sluice", sc)
            cells = [spread([r["cpu_us"] for r in s.values()], 2), spread([r["rps"] for r in s.values()], 0)]
            for peer in PEERS:
                p = by_rep(d, peer, sc)
                cells.append(spread([s[k]["cpu_us"] / p[k]["cpu_us"] for k in s
                                     if k in p and s[k]["cpu_us"] and p[k]["cpu_us"]]))
            print(f"| {sc} | {name} | " + " | ".join(cells) + " |")
        # per rep, head vs base
        hs, bs = by_rep(head, "sluice", sc), by_rep(base, "sluice", sc)
        reps = sorted(set(hs) & set(bs))
        us = [100 * (hs[k]["cpu_us"] / bs[k]["cpu_us"] - 1) for k in reps if hs[k]["cpu_us"] and bs[k]["cpu_us"]]
        per_peer = {}
        for peer in PEERS:
            hp, bp = by_rep(head, peer, sc), by_rep(base, peer, sc)
            per_peer[peer] = [100 * ((hs[k]["cpu_us"] / hp[k]["cpu_us"]) / (bs[k]["cpu_us"] / bp[k]["cpu_us"]) - 1)
                              for k in reps if k in hp and k in bp and hs[k]["cpu_us"] and bs[k]["cpu_us"]
                              and hp[k]["cpu_us"] and bp[k]["cpu_us"]]
        rps = [100 * (hs[k]["rps"] / bs[k]["rps"] - 1) for k in reps if hs[k]["rps"] and bs[k]["rps"]]
        changes[sc] = (us, per_peer, rps)
    print()
    print("Head vs base per rep (median, min..max of the reps; negative CPU = head cheaper):")
    print()
    print("| scenario | Sluice µs/req | " + " | ".join(f"Sluice/{p} CPU/req" for p in PEERS)
          + " | Sluice req/s | verdict (Sluice/haproxy CPU/req) |")
    print("|---|---|" + "---|" * len(PEERS) + "---|---|")
    for sc, (us, per_peer, rps) in changes.items():
        print(f"| {sc} | {pct(us)[0]} | " + " | ".join(pct(per_peer[p])[0] for p in PEERS)
              + f" | {pct(rps)[0]} | {verdict(per_peer['haproxy'])} |")
    print()
    for sc, (us, per_peer, rps) in changes.items():
        ratio = per_peer["haproxy"]
        print(f"change cpu_us_per_req {sc} head/base {statistics.median(us):+.1f}%" if us else f"change {sc} NA")
        if ratio:
            print(f"change cpu_ratio_haproxy {sc} head/base {statistics.median(ratio):+.1f}% {verdict(ratio)}")


if __name__ == "__main__":
    main()
