#!/usr/bin/env bash
# What one get-close connection costs the agent, per build: syscalls (`perf stat -e
# 'syscalls:sys_enter_*'`), libc allocations (uprobes on malloc, calloc, realloc,
# posix_memalign, free) and the BPF programs' runs and run time (`kernel.bpf_stats_enabled`,
# set back to 0 at the end), each divided by wrk's request count (one connection per request).
# Each build runs in a fresh sandbox of its own tree (its bpf objects), one after the other.
#   bash bench/conncost.sh [LABEL=/path/to/.build/release/sluice[:TREE] ...]   (default: this tree's)
#   (TREE: the repository whose bpf objects that build loads; default two levels above .build/release)
#   SECS=4 (per count), CONNS=50 (wrk -c; CONNS=1: one connection at a time, no batching)
# Output: bench/results/conncost-<timestamp>/ and a table per build on stdout.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
command -v perf >/dev/null && command -v bpftool >/dev/null || die "needs perf and bpftool"
: "${SECS:=4}"
PEERS=""
[ $# -gt 0 ] || set -- "this=$SLUICE"
OUT="$BENCH/results/conncost-$(date +%Y%m%d-%H%M%S)"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
LIBC=$(ldconfig -p | sed -n 's/.*libc.so.6 (libc6,x86-64) => //p' | head -1)
cleanup() { sandbox_down; sysctl -qw kernel.bpf_stats_enabled=0; perf probe -q -d 'probe_libc:*' 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
install_deps
for f in malloc calloc realloc posix_memalign free; do perf probe -q -x "$LIBC" "$f" >/dev/null 2>&1; done

# count LABEL KIND EVENTS: wrk get-close for SECS while perf stat counts EVENTS in the agent.
count() {
  perf stat -x, -e "$3" -o "$OUT/$1.$2.csv" -p "$AGENT_PID" -- ip netns exec "$CLIENT_NS" taskset -c "$LOAD_CPU" \
    wrk -t1 -c"$CONNS" -d"${SECS}s" -H 'Connection: close' "http://$UPSTREAM_IP/get" >"$OUT/$1.$2.wrk.txt" 2>&1
}

for spec in "$@"; do
  label=${spec%%=*} SLUICE=${spec#*=} SLUICE_HOME=""
  case $SLUICE in *:*) SLUICE_HOME=${SLUICE#*:} SLUICE=${SLUICE%%:*} ;; esac
  [ -n "$SLUICE_HOME" ] || SLUICE_HOME=$(cd "$(dirname "$SLUICE")/../.." && pwd)
  export SLUICE_HOME
  # a build from before the observer knows no --no-observer
  if "$SLUICE" sandbox up --help 2>&1 | grep -q -- --no-observer; then unset SANDBOX_UP_FLAGS; else SANDBOX_UP_FLAGS=; fi
  sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed ($label)"
  check_rules sluice || die "rule check failed ($label)"
  log "$label: agent $AGENT_PID, load $(cut -d' ' -f1-3 /proc/loadavg)"
  in_client wrk -t1 -c"$CONNS" -d2s -H 'Connection: close' "http://$UPSTREAM_IP/get" >/dev/null 2>&1
  sysctl -qw kernel.bpf_stats_enabled=1
  bpftool -j prog show >"$OUT/$label.bpf0.json"
  count "$label" sys 'syscalls:sys_enter_*'
  bpftool -j prog show >"$OUT/$label.bpf1.json"
  sysctl -qw kernel.bpf_stats_enabled=0
  count "$label" alloc 'probe_libc:*'
  sandbox_down
done

python3 - "$OUT" "$@" <<'PY'
import json, re, sys
out, labels = sys.argv[1], [s.split('=', 1)[0] for s in sys.argv[2:]]
def requests(path):
    m = re.search(r'(\d+) requests in', open(path).read())
    return int(m.group(1)) if m else 0
def counts(path):
    d = {}
    for line in open(path):
        p = line.strip().split(',')
        if len(p) > 3 and p[0].replace('.', '').isdigit() and float(p[0]) > 0:
            d[p[2].split(':')[-1].replace('sys_enter_', '')] = float(p[0])
    return d
for label in labels:
    n, na = requests(f'{out}/{label}.sys.wrk.txt'), requests(f'{out}/{label}.alloc.wrk.txt')
    sysc, alloc = counts(f'{out}/{label}.sys.csv'), counts(f'{out}/{label}.alloc.csv')
    before = {p['id']: p for p in json.load(open(f'{out}/{label}.bpf0.json'))}
    print(f'== {label}: {n} connections (syscalls, BPF), {na} (allocations)')
    print('  syscalls per connection: ' + ', '.join(f'{k} {v / n:.3f}' for k, v in sorted(sysc.items(), key=lambda kv: -kv[1]))
          + f'; total {sum(sysc.values()) / n:.3f}')
    print('  allocations per connection: ' + ', '.join(f'{k} {v / na:.2f}' for k, v in sorted(alloc.items())))
    for p in json.load(open(f'{out}/{label}.bpf1.json')):
        q = before.get(p['id'], {})
        runs, ns = p.get('run_cnt', 0) - q.get('run_cnt', 0), p.get('run_time_ns', 0) - q.get('run_time_ns', 0)
        if runs > 0:
            print(f"  bpf {p.get('name')}: {runs / n:.2f} runs, {ns / runs:.0f} ns/run, {ns / n:.0f} ns per connection")
PY
echo "results in $OUT"
