#!/usr/bin/env python3
"""How full the resident pages of a running process's glibc main heap are (issue 19, s21-mem).

    python3 bench/heap_pages.py PID [--types N]

Walks the `[heap]` mapping chunk by chunk through /proc/PID/mem (glibc's layout: a chunk's size
word at +8, low bits flags; a chunk is in use when the next chunk has PREV_INUSE; the last one
is `top`), reads the present bits from /proc/PID/pagemap (root), and prints: resident pages,
bytes in use and free, and the resident pages by how many bytes of live chunks they hold
(pages that stay resident for one small live block are what `malloc_trim` cannot return).
Chunks in tcache or fastbins look in use (glibc marks them so). --types N: for live chunks on
pages under a quarter full, the N commonest first words (a Swift object's metadata pointer),
named by the executable's symbols where they point into it.
"""
import bisect
import collections
import os
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")


def heap_range(pid):
    exe, lo, hi = None, None, None
    maps = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) >= 6 else ""
            maps.append((start, end, name, int(parts[2], 16)))
            if name == "[heap]":
                lo, hi = start, end
    return lo, hi, maps


def present(pid, start, end):
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read((end - start) // PAGE * 8)
    return {start + i * PAGE for i in range(len(data) // 8) if struct.unpack_from("<Q", data, i * 8)[0] >> 63 & 1}


def read_heap(pid, start, end, resident):
    """The heap's bytes, zeros for pages that are not resident (reading them would fault them in)."""
    out = bytearray(end - start)
    with open(f"/proc/{pid}/mem", "rb") as f:
        for page in sorted(resident):
            f.seek(page)
            out[page - start : page - start + PAGE] = f.read(PAGE)
    return out


def chunks(heap, start):
    """(offset, size, in_use) of every chunk from `start`, walking the size words (a free chunk
    keeps its header when malloc_trim gives its inner pages back, so the walk never reads a page
    that is not resident)."""
    p = start
    n = len(heap)
    out = []
    while p + 16 <= n:
        size = struct.unpack_from("<Q", heap, p + 8)[0] & ~7
        if size < 32 or p + size > n:
            # a page that was returned to the kernel inside a free chunk: glibc keeps the free
            # chunk's header, so this only happens on a corrupt walk; stop
            break
        nxt = p + size
        in_use = nxt + 16 <= n and struct.unpack_from("<Q", heap, nxt + 8)[0] & 1 == 1
        is_top = nxt + 16 > n
        out.append((p, size, in_use and not is_top))
        p = nxt
    return out


def symbols(exe, bias):
    names = []
    text = subprocess.run(["nm", "-n", "--defined-only", exe], capture_output=True, text=True).stdout
    for line in text.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3:
            names.append((int(parts[0], 16) + bias, parts[2]))
    return names


def arena_heaps(maps):
    """The first heap of each non-main glibc arena: an anonymous rw mapping at a 64 MiB boundary
    (HEAP_MAX_SIZE) followed by its reserved, inaccessible rest."""
    out = []
    for i, (start, end, name, _) in enumerate(maps):
        if name == "" and start % (64 << 20) == 0 and i + 1 < len(maps) and maps[i + 1][0] == end:
            out.append((start, end))
    return out


def walk_from(heap, start):
    """Walks from `start`; the walk fits when it ends exactly at the end of `heap` (the top chunk)."""
    p, n = start, len(heap)
    while p + 16 <= n:
        size = struct.unpack_from("<Q", heap, p + 8)[0] & ~7
        if size < 32 or size % 16 or p + size > n:
            return False
        p += size
    return p == n


def report(pid, lo, hi, resident, heap, walk, maps, types, label):
    """Prints one heap's figures; `walk` holds (offset into `heap`, size, in use)."""
    live_per_page = collections.Counter()
    live_bytes = free_bytes = 0
    live_chunks = []
    for off, size, in_use in walk:
        if in_use:
            live_bytes += size
            live_chunks.append((off, size))
            a = off
            while a < off + size:
                page = (lo + a) // PAGE * PAGE
                take = min(off + size, page - lo + PAGE) - a
                live_per_page[page] += take
                a += take
        else:
            free_bytes += size
    walked = walk[-1][0] + walk[-1][1] - walk[0][0] if walk else 0
    print(f"{label} {lo:#x}-{hi:#x}: {(hi - lo) // 1024} KiB mapped, {len(resident) * PAGE // 1024} KiB resident; "
          f"walked {walked // 1024} KiB in {len(walk)} chunks: in use {live_bytes // 1024} KiB, free {free_bytes // 1024} KiB")
    buckets = [(0, 0), (1, 256), (257, 1024), (1025, 2048), (2049, 3072), (3073, PAGE)]
    hist = collections.Counter()
    for page in resident:
        live = live_per_page.get(page, 0)
        for b in buckets:
            if b[0] <= live <= b[1]:
                hist[b] += 1
                break
    for b in buckets:
        print(f"  resident pages with {b[0]:>5}-{b[1]:>5} live bytes: {hist[b]:>5} ({hist[b] * PAGE // 1024} KiB)")
    sparse_pages = {p for p in resident if live_per_page.get(p, 0) <= PAGE // 4}
    sparse_live = sum(live_per_page.get(p, 0) for p in sparse_pages)
    print(f"  pages at most a quarter full: {len(sparse_pages)} ({len(sparse_pages) * PAGE // 1024} KiB) "
          f"holding {sparse_live // 1024} KiB live")
    if not types:
        return
    exe = os.readlink(f"/proc/{pid}/exe")
    exe_maps = [m for m in maps if m[2] == exe]
    bias = min(m[0] - m[3] for m in exe_maps) if exe_maps else 0
    syms = symbols(exe, bias)
    addrs = [s[0] for s in syms]

    mem = open(f"/proc/{pid}/mem", "rb")

    def read(address, count):
        try:
            mem.seek(address)
            return mem.read(count)
        except (OSError, ValueError, OverflowError):
            return b""

    def described(w):
        """A Swift class's name from its metadata (runtime-instantiated metadata has no symbol):
        the nominal type descriptor at +40 (class metadata without Objective-C interop), whose
        name is a relative pointer at +8."""
        raw = read(w + 40, 8)
        if len(raw) < 8:
            return None
        desc = struct.unpack("<Q", raw)[0]
        rel = read(desc + 8, 4)
        if len(rel) < 4:
            return None
        text = read(desc + 8 + struct.unpack("<i", rel)[0], 64).split(bytes(1))[0]
        return text.decode() if text and all(32 < c < 127 for c in text) else None

    def type_name(metadata):
        """A struct's, enum's or class's name from its metadata (kind < 0x800: a value type, whose
        descriptor is at +8; otherwise a class)."""
        raw = read(metadata, 16)
        if len(raw) < 16:
            return None
        kind, desc = struct.unpack("<QQ", raw)
        if kind >= 0x800:
            return described(metadata)
        rel = read(desc + 8, 4)
        if len(rel) < 4:
            return None
        text = read(desc + 8 + struct.unpack("<i", rel)[0], 64).split(bytes(1))[0]
        return text.decode() if text and all(32 < c < 127 for c in text) else None

    def generic_argument(w):
        """The first generic argument of a generic class instance's metadata: at the word the
        class descriptor's positive size minus its immediate members names."""
        raw = read(w + 40, 8)
        if len(raw) < 8:
            return None
        desc = struct.unpack("<Q", raw)[0]
        sizes = read(desc + 28, 8)
        if len(sizes) < 8:
            return None
        positive, immediate = struct.unpack("<II", sizes)
        if not 0 < positive - immediate < 64:
            return None
        arg = read(w + 8 * (positive - immediate), 8)
        return type_name(struct.unpack("<Q", arg)[0]) if len(arg) == 8 else None

    def name(w):
        i = bisect.bisect_right(addrs, w) - 1
        if i >= 0 and any(m[0] <= w < m[1] for m in exe_maps):
            return syms[i][1]
        found = described(w)
        if found:
            argument = generic_argument(w) if found.startswith("_") else None
            return "class " + found + (f"<{argument}>" if argument else "")
        return "heap" if lo <= w < hi else "other"

    for title, chosen in (("live chunks on those pages", sparse_pages), ("all live chunks", None)):
        words, sizes, samples = collections.Counter(), collections.Counter(), {}
        for off, size in live_chunks:
            if (chosen is None or (lo + off) // PAGE * PAGE in chosen) and off + 24 <= len(heap):
                w = struct.unpack_from("<Q", heap, off + 16)[0]
                words[w] += 1
                sizes[w] += size
                # a Swift native string's UTF-8 bytes follow its 32-byte header
                samples.setdefault(w, bytes(heap[off + 48 : off + 48 + 24]))
        print(f"  {title}, by first word (a Swift object's metadata):")
        for w, count in sorted(words.items(), key=lambda kv: -sizes[kv[0]])[:types]:
            n = name(w)
            text = samples[w].split(bytes(1))[0]
            extra = f" e.g. {text!r}" if "StringStorage" in n else ""
            print(f"  {count:>7} chunks {sizes[w] // 1024:>6} KiB  {w:#x} {n[:100]}{extra}")


def main():
    pid = int(sys.argv[1])
    types = int(sys.argv[sys.argv.index("--types") + 1]) if "--types" in sys.argv else 0
    lo, hi, maps = heap_range(pid)
    resident = present(pid, lo, hi)
    heap = read_heap(pid, lo, hi, resident)
    report(pid, lo, hi, resident, heap, chunks(heap, 0), maps, types, "[heap]")
    if "--arenas" in sys.argv:
        # the non-main arenas (worker threads): where their first chunk starts is found by
        # trying 16-byte offsets past the heap_info and malloc_state headers
        for start, end in arena_heaps(maps):
            resident = present(pid, start, end)
            heap = read_heap(pid, start, end, resident)
            first = next((o for o in range(16, 4096, 16) if walk_from(heap, o)), None)
            if first is None:
                print(f"arena {start:#x}: no chunk walk fits")
                continue
            report(pid, start, end, resident, heap, chunks(heap, first), maps, types, "arena")


main()
