#!/usr/bin/env python3
"""Which pages of a running process's executable are resident, by ELF section and, for .text,
by module (issue 19, s18-mem).

    python3 bench/text_residency.py PID [--symbols N] [--faults perf-script.txt]

Reads /proc/PID/maps and /proc/PID/pagemap (root: present bits), the executable's section
headers (readelf -SW) and symbols (nm -n). A page is counted for the section (or the .text
symbol) that overlaps it most. A resident page is not necessarily an executed one: the kernel
maps up to 64 KiB of cached file pages around each fault (fault-around). --faults takes the
output of `perf script -F ip,addr` of `exceptions:page_fault_user` events (or lines of hex
addresses) and counts the faults per module, i.e. the pages that were actually touched first.
"""
import bisect
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def mappings(pid, exe):
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == exe:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                out.append((start, end, parts[1], int(parts[2], 16)))
    return out


def present_pages(pid, start, end):
    pages = []
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read((end - start) // PAGE * 8)
    for i in range(len(data) // 8):
        (entry,) = struct.unpack_from("<Q", data, i * 8)
        if entry >> 63 & 1:
            pages.append(start + i * PAGE)
    return pages


def sections(exe):
    out = []
    text = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout
    for line in text.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(4):
            addr, size = int(m.group(2), 16), int(m.group(3), 16)
            if addr and size:
                out.append((addr, addr + size, m.group(1)))
    return sorted(out)


def module_of(name):
    if name.startswith("$s") or name.startswith("_$s"):
        body = name[2:] if name.startswith("$s") else name[3:]
        if body.startswith("s") or body.startswith("S"):
            return "Swift (stdlib)"
        m = re.match(r"(\d+)", body)
        if m:
            n = int(m.group(1))
            return body[len(m.group(1)):len(m.group(1)) + n]
        return "Swift (other)"
    if name.startswith("swift_") or name.startswith("_swift_") or name.startswith("_ZN5swift"):
        return "Swift runtime"
    if name.startswith("_Z"):
        return "C++"
    return "C"


def symbols(exe):
    text = subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout
    addrs, names = [], []
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16))
            names.append(parts[2])
    return addrs, names


def main():
    pid = int(sys.argv[1])
    top = 0
    faults = None
    args = sys.argv[2:]
    while args:
        if args[0] == "--symbols":
            top = int(args[1]); args = args[2:]
        elif args[0] == "--faults":
            faults = args[1]; args = args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    exe = os.readlink(f"/proc/{pid}/exe")
    maps = mappings(pid, exe)
    bias = min(m[0] for m in maps if m[3] == 0)
    secs = sections(exe)
    sec_starts = [s[0] for s in secs]
    addrs, names = symbols(exe)
    by_section = collections.Counter()
    by_module = collections.Counter()
    by_symbol = collections.Counter()
    total = 0
    for start, end, perms, _ in maps:
        for page in present_pages(pid, start, end):
            total += 1
            v = page - bias
            i = bisect.bisect_right(sec_starts, v + PAGE - 1) - 1
            best, name = 0, "(no section)"
            j = i
            while j >= 0 and secs[j][1] > v - 4 * PAGE:
                overlap = min(secs[j][1], v + PAGE) - max(secs[j][0], v)
                if overlap > best:
                    best, name = overlap, secs[j][2]
                j -= 1
            by_section[name] += 1
            if name == ".text":
                k = bisect.bisect_right(addrs, v + PAGE // 2) - 1
                sym = names[k] if k >= 0 else "?"
                by_module[module_of(sym)] += 1
                by_symbol[sym] += 1
    kib = PAGE // 1024
    print(f"{exe}: {total * kib} KiB resident in {len(maps)} mappings")
    sizes = collections.Counter()
    for s, e, n in secs:
        sizes[n] += e - s
    print("by section (resident KiB / section KiB):")
    for name, n in by_section.most_common():
        print(f"  {n * kib:7d} / {sizes.get(name, 0) // 1024:7d}  {name}")
    print(".text by module (resident KiB, by the symbol at each page's middle):")
    for name, n in by_module.most_common(25):
        print(f"  {n * kib:7d}  {name}")
    if top:
        for name, n in by_symbol.most_common(top):
            print(f"  {n * kib:7d}  {name}")
    if faults:
        counts = collections.Counter()
        for line in open(faults):
            for tok in line.split():
                try:
                    a = int(tok, 16)
                except ValueError:
                    continue
                v = a - bias
                if 0 <= v < (max(m[1] for m in maps) - bias):
                    k = bisect.bisect_right(addrs, v) - 1
                    counts[module_of(names[k]) if k >= 0 else "?"] += 1
                    break
        print("faults in the executable by module:")
        for name, n in counts.most_common(25):
            print(f"  {n:7d}  {name}")


if __name__ == "__main__":
    main()
