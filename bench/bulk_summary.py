#!/usr/bin/env python3
"""Summary of a bench/bulk.sh run: per system and scenario the median proxy CPU seconds per GB
of body bytes, throughput (GB/s of body bytes over the wall time), the spread over the reps, and
`ratio cpu_s_per_gb|throughput <scenario> sluice/<peer> <v>` lines (medians of the same run);
with the runs' extra figures also `path_cpu_s_per_gb` (proxy + upstream + curls + ksoftirqd) and,
from `SOFTIRQ=1` runs, `own_cpu_s_per_gb` (the proxy's CPU without the softirqs run in its
context).
A second Sluice build (`SLUICE_B`, system `sluice-b`) is no peer: it gets its own
`ratio cpu_s_per_gb <scenario> sluice/sluice-b <v>` line and the per-rep pairs.

    python3 bench/bulk_summary.py bench/results/bulk-<timestamp>
"""
import os
import statistics
import sys

GB = 1 << 30


def read_meta(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def main(root):
    raw = os.path.join(root, "raw")
    runs = {}  # (system, scenario) -> [(cpu_s_per_gb, gb_per_s, bad, connects)]
    for system in sorted(os.listdir(raw)):
        d = os.path.join(raw, system)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".meta"):
                continue
            scenario = name.rsplit(".", 2)[0]
            m = read_meta(os.path.join(d, name))
            size = int(m.get("bytes", "0"))
            if size <= 0:
                runs.setdefault((system, scenario), []).append(None)
                continue
            gb = size / GB
            runs.setdefault((system, scenario), []).append(
                (float(m["proxy_cpu_s"]) / gb, gb / float(m["wall_s"]), int(m.get("bad", "0")),
                 int(m.get("connects", "0")), int(m.get("proxy_hwm_kb", "0")),
                 float(m["path_cpu_s"]) / gb if "path_cpu_s" in m else None,
                 float(m["own_cpu_s"]) / gb if "own_cpu_s" in m else None))
    scenarios = []
    for (_, sc) in runs:
        if sc not in scenarios:
            scenarios.append(sc)
    order = {"get-1m": 0, "get-64m": 1, "post-64m": 2}
    scenarios.sort(key=lambda s: order.get(s, 9))
    systems = sorted({s for (s, _) in runs}, key=lambda s: (s != "sluice", s != "sluice-b", s))
    print("| system | scenario | CPU s/GB (median) | spread | own CPU s/GB | path CPU s/GB | GB/s (median) | spread | failed | conns | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    med = {}
    for sc in scenarios:
        for sy in systems:
            rs = [r for r in runs.get((sy, sc), []) if r is not None]
            if not rs:
                continue
            cpu = [r[0] for r in rs]
            tput = [r[1] for r in rs]
            path = [r[5] for r in rs if r[5] is not None]
            own = [r[6] for r in rs if r[6] is not None]
            med[(sy, sc)] = (statistics.median(cpu), statistics.median(tput),
                             statistics.median(path) if path else None,
                             statistics.median(own) if own else None)
            path_text = f"{med[(sy, sc)][2]:.3f}" if path else "-"
            own_text = f"{med[(sy, sc)][3]:.3f} ({min(own):.3f}-{max(own):.3f})" if own else "-"
            print(f"| {sy} | {sc} | {med[(sy, sc)][0]:.3f} | {min(cpu):.3f}-{max(cpu):.3f} | {own_text} | {path_text} | "
                  f"{med[(sy, sc)][1]:.2f} | {min(tput):.2f}-{max(tput):.2f} | {sum(r[2] for r in rs)} | "
                  f"{max(r[3] for r in rs)} | {max(r[4] for r in rs) / 1024:.1f} |")
    # Per transfer (curl's timings, medians over the reps of each run's median): request to the
    # first response byte, the first byte to the last, and the voluntary context switches
    # (waits) per transfer of the curls, the upstream and the proxy.
    lat = []
    for sc in scenarios:
        for sy in systems:
            ms = [read_meta(os.path.join(raw, sy, n)) for n in sorted(os.listdir(os.path.join(raw, sy)))
                  if n.startswith(sc + ".") and n.endswith(".meta")]
            t = [int(m["ttfb_us_p50"]) for m in ms if "ttfb_us_p50" in m]
            b = [int(m["body_us_p50"]) for m in ms if "body_us_p50" in m]
            waits = []
            for k in ("client", "upstream", "proxy"):
                w = [float(m[k + "_waits_per_transfer"]) for m in ms if k + "_waits_per_transfer" in m]
                waits.append(f"{statistics.median(w):.1f}" if w else "-")
            tlp = []
            for k in ("node", "upstream"):
                v = [float(m[f"tcp_{k}_per_1000"].split()[1].split(":")[1]) for m in ms if f"tcp_{k}_per_1000" in m]
                tlp.append(f"{statistics.median(v):.0f}" if v else "-")
            st = [float(m["body_stalls_per_1000"]) for m in ms if "body_stalls_per_1000" in m]
            sh = [float(m["body_stall_share"]) for m in ms if "body_stall_share" in m]
            stalls = f"{statistics.median(st):.0f} ({100 * statistics.median(sh):.0f} %)" if st and sh else "-"
            if t and b:
                lat.append(f"| {sy} | {sc} | {statistics.median(t):.0f} | {statistics.median(b):.0f} | {stalls} | "
                           + " | ".join(waits) + " | " + " / ".join(tlp) + " |")
    if lat:
        print()
        print("| system | scenario | first byte, us (p50) | first to last byte, us (p50) | bodies over 1 ms per 1,000 (share of body time) | waits per transfer: curls | upstream | proxy | TCP segments retransmitted per 1,000 transfers: node / upstream |")
        print("|---|---|---|---|---|---|---|---|---|")
        print("\n".join(lat))
    print()
    for sc in scenarios:
        if ("sluice", sc) not in med:
            continue
        for sy in systems:
            if sy in ("sluice", "sluice-b") or (sy, sc) not in med:
                continue
            s, p = med[("sluice", sc)], med[(sy, sc)]
            print(f"ratio cpu_s_per_gb {sc} sluice/{sy} {s[0] / p[0]:.3f}")
            print(f"ratio throughput {sc} sluice/{sy} {s[1] / p[1]:.3f}")
            if s[2] and p[2]:
                print(f"ratio path_cpu_s_per_gb {sc} sluice/{sy} {s[2] / p[2]:.3f}")
            if s[3] and p[3]:
                print(f"ratio own_cpu_s_per_gb {sc} sluice/{sy} {s[3] / p[3]:.3f}")
    for sc in scenarios:
        peers = [med[(sy, sc)][0] for sy in systems if sy not in ("sluice", "sluice-b") and (sy, sc) in med]
        if ("sluice", sc) in med and peers:
            print(f"ratio cpu_s_per_gb {sc} sluice/best-peer {med[('sluice', sc)][0] / min(peers):.3f}")
        own_peers = [med[(sy, sc)][3] for sy in systems
                     if sy not in ("sluice", "sluice-b") and (sy, sc) in med and med[(sy, sc)][3]]
        if ("sluice", sc) in med and med[("sluice", sc)][3] and own_peers:
            print(f"ratio own_cpu_s_per_gb {sc} sluice/best-peer {med[('sluice', sc)][3] / min(own_peers):.3f}")
    for sc in scenarios:
        if ("sluice", sc) in med and ("sluice-b", sc) in med:
            a, b = runs[("sluice", sc)], runs[("sluice-b", sc)]
            pairs = " ".join(f"{x[0] / y[0]:.3f}" for x, y in zip(a, b) if x is not None and y is not None)
            print(f"ratio cpu_s_per_gb {sc} sluice/sluice-b {med[('sluice', sc)][0] / med[('sluice-b', sc)][0]:.3f}"
                  f"   (per rep: {pairs})")
            if med[("sluice", sc)][2] and med[("sluice-b", sc)][2]:
                print(f"ratio path_cpu_s_per_gb {sc} sluice/sluice-b {med[('sluice', sc)][2] / med[('sluice-b', sc)][2]:.3f}")
            if med[("sluice", sc)][3] and med[("sluice-b", sc)][3]:
                print(f"ratio own_cpu_s_per_gb {sc} sluice/sluice-b {med[('sluice', sc)][3] / med[('sluice-b', sc)][3]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
