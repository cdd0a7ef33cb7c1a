#!/usr/bin/env python3
"""The relay's rhythm from a `TRACE=1 PROFILE=<scenario> bash bench/bulk.sh` run.

Reads `perf script` of trace-<system>.data (splice and epoll_wait entries and exits,
tcp:tcp_sendmsg_locked, hrtimer starts, softirqs of the proxy's threads) and fds-<system>.txt
(which descriptors are pipes), and prints per system: fills and drains (count, bytes, EAGAIN),
how often a drain's first write found the socket's write queue empty (no unsent byte: the drain
transmits at once in the proxy's context), TCP pacing timers armed while a drain ran (by the
drain itself or by a softirq inside it; timers-<system>.txt splits them by call chain), the
fill/drain pattern of each wake-up, and the time between a fill and the drain after it.

    python3 bench/bulk_trace.py bench/results/bulk-<timestamp> [transfers]
"""
import collections
import os
import re
import subprocess
import sys

LINE = re.compile(r'^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$')


def pipes(path):
    out = set()
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith('pipe:'):
                out.add(int(parts[0]))
    return out


def events(data):
    text = subprocess.run(
        ['perf', 'script', '-i', data, '-F', 'comm,tid,cpu,time,event,trace'],
        capture_output=True, text=True).stdout
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            yield int(m.group(2)), float(m.group(4)), m.group(5), m.group(6)


def field(args, name):
    m = re.search(name + r':? (0x[0-9a-f]+|-?\d+)', args)
    return int(m.group(1), 0) if m else None


def analyse(out, system, transfers):
    data = os.path.join(out, f'trace-{system}.data')
    if not os.path.exists(data):
        return
    pipe_fds = pipes(os.path.join(out, f'fds-{system}.txt'))
    fills = drains = fill_bytes = drain_bytes = fill_eagain = drain_eagain = 0
    drain_empty_queue = drains_arming = arms_in_drain = arms_elsewhere = 0
    waits = blocking_waits = 0
    patterns = collections.Counter()
    gaps = []
    cur = {}  # tid -> the splice in progress
    wake = []
    last_fill_end = None
    for tid, t, ev, args in events(data):
        if ev == 'syscalls:sys_enter_splice':
            fd_in, fd_out = field(args, 'fd_in'), field(args, 'fd_out')
            kind = 'F' if fd_out in pipe_fds else 'D' if fd_in in pipe_fds else '?'
            cur[tid] = {'kind': kind, 't': t, 'first_q': None, 'arms': 0}
        elif ev == 'syscalls:sys_exit_splice' and tid in cur:
            s = cur.pop(tid)
            ret = int(args.strip(), 0)
            if ret >= 1 << 63:
                ret -= 1 << 64
            if s['kind'] == 'F':
                if ret > 0:
                    fills += 1
                    fill_bytes += ret
                    wake.append('F')
                    last_fill_end = t
                else:
                    fill_eagain += 1
                    wake.append('f')
            elif s['kind'] == 'D':
                if ret > 0:
                    drains += 1
                    drain_bytes += ret
                    wake.append('D')
                    if s['first_q'] == 0:
                        drain_empty_queue += 1
                    if s['arms']:
                        drains_arming += 1
                    arms_in_drain += s['arms']
                    if last_fill_end is not None:
                        gaps.append(s['t'] - last_fill_end)
                        last_fill_end = None
                else:
                    drain_eagain += 1
                    wake.append('d')
        elif ev == 'tcp:tcp_sendmsg_locked':
            s = cur.get(tid)
            if s is not None and s['first_q'] is None:
                s['first_q'] = field(args, 'skb_addr') or 0
        elif ev == 'timer:hrtimer_start' and 'tcp_pace_kick' in args:
            s = cur.get(tid)
            if s is not None and s['kind'] == 'D':
                s['arms'] += 1
            else:
                arms_elsewhere += 1
        elif ev.startswith('syscalls:sys_enter_epoll'):
            waits += 1
            timeout = field(args, 'timeout')
            if timeout is not None and timeout != 0:
                blocking_waits += 1
            if wake:
                patterns[''.join(wake)] += 1
            wake = []
    n = transfers or 1
    print(f'== {system} (per transfer, {n} transfers)')
    print(f'fills {fills / n:.1f} ({fill_bytes / max(fills, 1) / 1024:.1f} KiB each), EAGAIN fills {fill_eagain / n:.1f}')
    print(f'drains {drains / n:.1f} ({drain_bytes / max(drains, 1) / 1024:.1f} KiB each), EAGAIN drains {drain_eagain / n:.1f}')
    print(f'drains whose first write found the write queue empty {drain_empty_queue / n:.1f} '
          f'({100 * drain_empty_queue / max(drains, 1):.0f} %)')
    print(f'pacing timers armed during drains {arms_in_drain / n:.1f} (drains arming >= 1: {drains_arming / n:.1f}), '
          f'elsewhere in its context {arms_elsewhere / n:.1f}')
    print(f'epoll waits {waits / n:.1f}, with a timeout {blocking_waits / n:.1f}')
    if gaps:
        gaps.sort()
        print('fill end -> drain start, us: median %.1f p90 %.1f' % (
            1e6 * gaps[len(gaps) // 2], 1e6 * gaps[int(len(gaps) * 0.9)]))
    print('wake-ups by pattern (F fill, f EAGAIN fill, D drain, d EAGAIN drain):')
    for p, c in patterns.most_common(8):
        print(f'  {c:7d}  {p[:60]}')


def main():
    out = sys.argv[1]
    for name in sorted(os.listdir(out)):
        if name.startswith('trace-') and name.endswith('.data'):
            system = name[len('trace-'):-len('.data')]
            transfers = int(sys.argv[2]) if len(sys.argv) > 2 else None
            if transfers is None:
                raw = os.path.join(out, 'raw', system)
                for meta in sorted(os.listdir(raw)) if os.path.isdir(raw) else []:
                    if meta.endswith('.1.meta'):
                        for line in open(os.path.join(raw, meta)):
                            if line.startswith('transfers='):
                                transfers = int(line.split()[0].split('=')[1])
                        break
            analyse(out, system, transfers)


if __name__ == '__main__':
    main()
