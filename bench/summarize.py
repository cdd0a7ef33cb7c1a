#!/usr/bin/env python3
"""Summarise a bench/run.sh result directory: a markdown table (medians of the repetitions),
then one machine-readable line per comparison:

    ratio cpu_us_per_req <scenario> <a>/<b> <value>
    ratio rps <scenario> <a>/<b> <value>
    scale <name> <value>

usage: summarize.py RESULT_DIR
"""
import os
import re
import statistics
import sys
from collections import defaultdict

UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
SYSTEMS = ["sluice", "haproxy", "nginx", "envoy", "sluice-1w", "sluice-2w", "sluice-noflows", "sluice-10k", "sluice-100k",
           "sluice-1w-cap", "sluice-2w-cap"]
SCENARIOS = ["get-ka", "deny-ka", "get-close", "get-rate", "get-paced"]
# below saturation: their p99 is compared (hey at a fixed 2,000 req/s, 0.1 ms resolution; wrk paced, µs)
LATENCY_SCENARIOS = ("get-rate", "get-paced")
PEERS = ["haproxy", "nginx", "envoy"]
# (scenario, numerator, denominator, what it shows)
VARIANT_RATIOS = [
    ("get-ka", "sluice-2w", "sluice-1w", "two workers vs one (scaling)"),
    ("get-ka", "sluice-2w-cap", "sluice-1w-cap", "two workers vs one, each capped to a share of a core"),
    ("get-ka", "sluice-1w", "sluice-noflows", "flow recording on vs off (flow cost)"),
    ("get-ka", "sluice-10k", "sluice-1w", "10,000-rule policy vs the bench policy"),
    ("get-ka", "sluice-100k", "sluice-1w", "100,000-rule policy vs the bench policy"),
]


def to_ms(tok):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", tok)
    return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None


def parse_wrk(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else None
    for p in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % p, text, re.M)
        r["p" + p] = to_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r


def parse_hey(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    for p in ("50", "99"):
        m = re.search(r"%s%% in ([\d.]+) secs" % p, text)
        r["p" + p] = float(m.group(1)) * 1000.0 if m else None
    codes = {int(a): int(b) for a, b in re.findall(r"\[(\d+)\]\s+(\d+) responses", text)}
    r["requests"] = sum(codes.values()) if codes else None
    r["non2xx"] = sum(v for k, v in codes.items() if not 200 <= k < 400)
    m = re.search(r"Error distribution:(.*)", text, re.S)
    r["errors"] = sum(int(x) for x in re.findall(r"^\s+\[(\d+)\]", m.group(1), re.M)) if m else 0
    return r


def read_meta(path):
    d = {}
    if os.path.exists(path):
        for line in open(path):
            for part in line.split():
                if "=" in part:
                    k, v = part.split("=", 1)
                    d[k] = v
    return d


def collect(raw):
    """system -> scenario -> [run dicts]"""
    out = defaultdict(lambda: defaultdict(list))
    if not os.path.isdir(raw):
        return out
    for sys_ in os.listdir(raw):
        d = os.path.join(raw, sys_)
        if not os.path.isdir(d) or sys_ == "scale":
            continue
        for fn in os.listdir(d):
            m = re.match(r"(.+)\.(\d+)\.txt$", fn)
            if not m:
                continue
            sc, rep = m.group(1), m.group(2)
            text = open(os.path.join(d, fn), errors="replace").read()
            r = parse_hey(text) if sc.endswith("-rate") else parse_wrk(text)
            r.update(read_meta(os.path.join(d, f"{sc}.{rep}.meta")))
            cpu = float(r.get("proxy_cpu_s", 0))
            r["cpu_us"] = cpu / r["requests"] * 1e6 if r.get("requests") and cpu > 0 else None
            out[sys_][sc].append(r)
    return out


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, nd=1):
    return "-" if v is None else f"{v:.{nd}f}"


def order(names, known):
    return sorted(names, key=lambda x: (known.index(x) if x in known else len(known), x))


def summary(data):
    """system -> scenario -> medians"""
    s = {}
    for sys_, scs in data.items():
        for sc, runs in scs.items():
            rps = [r["rps"] for r in runs if r.get("rps")]
            hwm = [int(r["proxy_hwm_kb"]) for r in runs if r.get("proxy_hwm_kb")]
            s.setdefault(sys_, {})[sc] = {
                "n": len(runs), "rps": med(rps), "min": min(rps) if rps else None, "max": max(rps) if rps else None,
                "p50": med([r.get("p50") for r in runs]), "p99": med([r.get("p99") for r in runs]),
                "cpu_us": med([r.get("cpu_us") for r in runs]),
                "hwm_mb": max(hwm) / 1024.0 if hwm else None,
                "non2xx": sum(r.get("non2xx", 0) for r in runs), "errors": sum(r.get("errors", 0) for r in runs),
            }
    return s


def table(s):
    lines = ["| system | scenario | runs | req/s median (min..max) | p50 ms | p99 ms | proxy CPU µs/req "
             "| peak RSS MB | non-2xx | errors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for sc in order({sc for v in s.values() for sc in v}, SCENARIOS):
        for sys_ in order(s.keys(), SYSTEMS):
            if sc not in s[sys_]:
                continue
            m = s[sys_][sc]
            lines.append(f"| {sys_} | {sc} | {m['n']} | {fmt(m['rps'], 0)} ({fmt(m['min'], 0)}..{fmt(m['max'], 0)}) "
                         f"| {fmt(m['p50'], 3)} | {fmt(m['p99'], 3)} | {fmt(m['cpu_us'], 1)} | {fmt(m['hwm_mb'], 1)} "
                         f"| {m['non2xx']} | {m['errors']} |")
    return "\n".join(lines)


def ratio(a, b):
    return f"{a / b:.3f}" if a is not None and b else "NA"


def ratio_lines(s):
    out = []
    for sc in order(set(s.get("sluice", {})), SCENARIOS):
        for peer in PEERS:
            if sc in s.get(peer, {}):
                out.append(f"ratio cpu_us_per_req {sc} sluice/{peer} {ratio(s['sluice'][sc]['cpu_us'], s[peer][sc]['cpu_us'])}")
                out.append(f"ratio rps {sc} sluice/{peer} {ratio(s['sluice'][sc]['rps'], s[peer][sc]['rps'])}")
                if sc in LATENCY_SCENARIOS:
                    out.append(f"ratio p99_ms {sc} sluice/{peer} {ratio(s['sluice'][sc]['p99'], s[peer][sc]['p99'])}")
    for peer in PEERS:
        hwm = [(s['sluice'][sc]['hwm_mb'], s[peer][sc]['hwm_mb']) for sc in s.get("sluice", {}) if sc in s.get(peer, {})]
        if hwm:
            out.append(f"ratio peak_rss all sluice/{peer} {ratio(max(a for a, _ in hwm), max(b for _, b in hwm))}")
    for sc, a, b, _ in VARIANT_RATIOS:
        if sc in s.get(a, {}) and sc in s.get(b, {}):
            out.append(f"ratio cpu_us_per_req {sc} {a}/{b} {ratio(s[a][sc]['cpu_us'], s[b][sc]['cpu_us'])}")
            out.append(f"ratio rps {sc} {a}/{b} {ratio(s[a][sc]['rps'], s[b][sc]['rps'])}")
    return out


def cap_lines(data):
    """Per capped system and worker: the share of a core it used (median over runs) and the CFS
    periods its cap held it back in, to show the cap was what limited it."""
    out = []
    for sys_ in order([k for k in data if k.endswith("-cap")], SYSTEMS):
        for sc, runs in sorted(data[sys_].items()):
            workers = sorted({k[len("after_"):-len("_cpu_s")] for r in runs for k in r
                              if k.startswith("after_") and k.endswith("_cpu_s")})
            for w in workers:
                shares, throttled = [], []
                for r in runs:
                    try:
                        cpu = float(r[f"after_{w}_cpu_s"]) - float(r[f"before_{w}_cpu_s"])
                        shares.append(cpu / float(r["wall_s"]))
                        throttled.append(int(r[f"after_{w}_throttled"]) - int(r[f"before_{w}_throttled"]))
                    except (KeyError, ValueError, ZeroDivisionError):
                        continue
                if shares:
                    cap = runs[0].get("cap_pct", "?")
                    out.append(f"cap {sys_} {sc} {w} cap_pct {cap} cpu_share {med(shares):.3f} "
                               f"throttled_periods {med(throttled):.0f}")
    return out


def scale_lines(raw):
    """Per applied file (tag `apply`: the 10,000-rule file over the bench policy; `one`: the same
    file with one rule changed, over it; `large`: the 100,000-rule file over that): apply wall time, time to enforcement from the start of `sluice
    apply` and from its return (negative: in force before the CLI returned), and the agent's RSS
    with the policy before (the bench policy for `apply`), at the peak of the apply and after."""
    d = os.path.join(raw, "scale")
    if not os.path.isdir(d):
        return []
    out = []
    for tag in ("apply", "one", "large"):
        metas = [read_meta(os.path.join(d, f)) for f in sorted(os.listdir(d))
                 if f.startswith(tag + ".") and f.endswith(".meta")]
        if not metas:
            continue
        out.append(f"scale {tag} rules {metas[0].get('rules', '?')} policies {metas[0].get('policies', '?')} "
                   f"bytes {metas[0].get('bytes', '?')}")
        for key in ("apply_ms", "in_force_ms", "in_force_after_return_ms"):
            vals = [float(m[key]) for m in metas if key in m]
            if vals:
                out.append(f"scale {tag} {key} {med(vals):.0f} (runs: {' '.join(f'{v:.0f}' for v in vals)})")
        for key in ("before_rss_kb", "agent_peak_kb", "agent_rss_kb"):
            vals = [float(m[key]) / 1024 for m in metas if key in m]
            if vals:
                name = key.replace("_kb", "_mb")
                out.append(f"scale {tag} {name} {med(vals):.1f} (runs: {' '.join(f'{v:.1f}' for v in vals)})")
        installs = [line[len("install: "):].strip()
                    for f in sorted(os.listdir(d)) if f.startswith(tag + ".") and f.endswith(".meta")
                    for line in open(os.path.join(d, f)) if line.startswith("install: ")]
        if installs:
            out.append(f"scale {tag} {installs[-1]}")
    return out


def flow_lines(raw):
    """The flow cost from raw/flows/segments.txt (run.sh flow_segments): recording switched on and
    off in one agent. Per rep the CPU per request of its on and off segments (sums), their ratio,
    the spread of the pairs' ratios and the flow records written per request; then the ratio lines
    (median of the reps' ratios)."""
    path = os.path.join(raw, "flows", "segments.txt")
    if not os.path.exists(path):
        return [], []
    reps = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: [0, 0, 0.0, 0])))
    for line in open(path):
        f = line.split()
        if len(f) < 7:
            continue
        rep, seg, v = int(f[0]), int(f[1]), f[2]
        reps[rep][seg][v] = [int(f[3]), int(f[4]), float(f[5]), int(f[6])]
    detail, ratios, rps_ratios = [], [], []
    for rep in sorted(reps):
        tot = {v: [0, 0, 0.0, 0] for v in ("on", "off")}
        pairs = []
        for seg, vs in sorted(reps[rep].items()):
            for v in ("on", "off"):
                for i in range(4):
                    tot[v][i] += vs[v][i]
            if vs["on"][1] and vs["off"][1] and vs["off"][0]:
                pairs.append((vs["on"][0] / vs["on"][1]) / (vs["off"][0] / vs["off"][1]))
        if not (tot["on"][1] and tot["off"][1]):
            continue
        on, off = (tot[v][0] / tot[v][1] / 1000.0 for v in ("on", "off"))
        ratios.append(on / off)
        rps_ratios.append((tot["on"][1] / tot["on"][2]) / (tot["off"][1] / tot["off"][2]))
        detail.append(
            f"flows rep {rep} cpu_us_per_req on {on:.3f} off {off:.3f} ratio {on / off:.3f} "
            f"(pairs {len(pairs)}: median {med(pairs):.3f}, {min(pairs):.3f}..{max(pairs):.3f}; "
            f"records/request on {tot['on'][3] / tot['on'][1]:.2f} off {tot['off'][3] / tot['off'][1]:.2f}; "
            f"req/s on {tot['on'][1] / tot['on'][2]:.0f} off {tot['off'][1] / tot['off'][2]:.0f})")
    if not ratios:
        return detail, []
    detail.append(f"flows reps {len(ratios)} ratio median {med(ratios):.3f} spread {min(ratios):.3f}..{max(ratios):.3f}")
    return detail, [
        f"ratio cpu_us_per_req get-ka sluice-1w/sluice-noflows {med(ratios):.3f}",
        f"ratio rps get-ka sluice-1w/sluice-noflows {med(rps_ratios):.3f}",
    ]


def main():
    root = sys.argv[1]
    raw = os.path.join(root, "raw")
    data = collect(raw)
    s = summary(data)
    for name in ("versions.txt", "params.txt"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            print("".join("    " + l for l in open(p)))
    print("## Sluice vs peers (proxy alone on one core, one worker; medians)\n")
    print(table(s))
    print("\nVariants: sluice-1w/2w = 1/2 workers, sluice-noflows = flow recording paused in the same agent "
          "(flows lines: on/off segments, bench/README.md), "
          "sluice-10k = with the 10,000-rule policy loaded, sluice-1w-cap/2w-cap = 1/2 workers, each "
          "held to a share of a core (cap lines), load free on both cores (all get-ka).\n")
    flow_detail, flow_ratios = flow_lines(raw)
    for l in scale_lines(raw) + cap_lines(data) + flow_detail:
        print(l)
    print()
    for l in ratio_lines(s) + flow_ratios:
        print(l)


if __name__ == "__main__":
    main()
