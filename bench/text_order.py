#!/usr/bin/env python3
"""bench/text_order.sh's second half: the agent's function symbols in order of first appearance
in a `perf script -F trace:pid,trace -F sw:pid,ip` of its page faults (instruction fetches) and
CPU samples, appended to ORDER after the symbols it already lists.

    python3 bench/text_order.py SCRIPT ORDER AGENT_BINARY AGENT_MAPS AGENT_PID
"""
import bisect
import os
import subprocess
import sys


def main():
    script, order, exe, maps, pid = sys.argv[1:6]
    exe = os.path.realpath(exe)
    bias = None
    for line in open(maps):
        parts = line.split()
        if len(parts) >= 6 and os.path.realpath(parts[5]) == exe and int(parts[2], 16) == 0:
            bias = int(parts[0].split("-")[0], 16)
            break
    if bias is None:
        sys.exit(f"{exe} not in {maps}")
    addrs, names = [], []
    nm = subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout
    for line in nm.splitlines():
        p = line.split(None, 2)
        if len(p) == 3 and p[1] in "tTwW":
            addrs.append(int(p[0], 16))
            names.append(p[2])
    known = []
    if os.path.exists(order):
        known = [l.strip() for l in open(order) if l.strip() and not l.startswith("#")]
    seen = set(known)
    new, faults, samples = [], 0, 0
    for line in open(script):
        p = line.split()
        if len(p) < 2 or p[0] != pid:
            continue
        if p[1].startswith("address="):
            code = int(p[3].split("=")[1], 16) if len(p) > 3 else 0
            if not code & 0x10:  # instruction fetches only
                continue
            a = int(p[1].split("=")[1], 16)
            faults += 1
        else:
            try:
                a = int(p[1], 16)
            except ValueError:
                continue
            samples += 1
        v = a - bias
        k = bisect.bisect_right(addrs, v) - 1
        if k < 0 or v - addrs[k] > 1 << 16:
            continue
        sym = names[k]
        if sym not in seen:
            seen.add(sym)
            new.append(sym)
    with open(order, "w") as f:
        for s in known + new:
            f.write(s + "\n")
    print(f"{order}: {len(known)} known, {len(new)} new ({faults} text faults, {samples} samples)", file=sys.stderr)


if __name__ == "__main__":
    main()
