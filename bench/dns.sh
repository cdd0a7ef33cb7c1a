#!/usr/bin/env bash
# DNS bench (issue 4): queries/s, p50/p99 and proxy CPU µs per query through Sluice's DNS proxy
# with an allow-list policy, against dnsdist with the same rules and against the resolver
# direct, in one run, interleaved (rep 1 of every system and query set, then rep 2, ...).
#   REPS=3 DURATION=10 bash bench/dns.sh        (default; ~8 minutes)
#   Query sets (DNS_SETS): allowed, denied, mixed at saturation (dnsperf's outstanding queries
#   kept full), and set@rate at a fixed rate below saturation (default allowed@5000,
#   allowed@30000, denied@60000: there every system runs in the same regime, and the cost per
#   query is per wake-up more than per byte). Besides CPU per query the table gives the proxy's
#   wake-ups (voluntary context switches of all its threads, from /proc) and preemptions per
#   query, with `ratio wakeups_per_query ...` lines.
#   REPS=1 DURATION=3 bash bench/dns.sh         (smoke)
#   DNS_SETS=allowed DNS_SYSTEMS=sluice DNS_PERF=record bash bench/dns.sh
#       DNS_SYSTEMS: which systems (default "sluice dnsdist direct"); DNS_PERF=record: perf record -g
#       of the proxy (agent or dnsdist) during each run (raw/<sys>.<set>.<rep>.perf.data + .report.txt);
#       DNS_PERF=syscalls: perf stat of the proxy's syscalls per run (raw/...syscalls.txt), and
#       `syscalls <sys> <set> <rep>: name=per-query ...` lines (counted over DURATION-1 s of the
#       run, divided by the run's mean q/s times that time). DNS_PERF_EVENTS: the events counted
#       (default every syscall tracepoint, which slows the proxy several-fold; name a few, e.g.
#       syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmmsg,context-switches, to count
#       near full speed).
#       Both cost CPU themselves: compare ratios only from runs without them.
#       DNS_BPF_STATS=1: the tc programs' own time per run and per query (kernel.bpf_stats_enabled,
#       `bpf <sys> <set> <rep>: ...` lines); also costs CPU.
#   SLUICE_BASE=/tmp/main/sluice REPS=2 DURATION=5 bash bench/dns.sh
#       SLUICE_BASE: a second Sluice build (its sluice-agent beside it), measured as system `base`
#       in the same window, interleaved with the others: the sandbox's agent is swapped
#       (`sandbox stop-agent`, then `start-agent` of the other build, which restores the policy)
#       before each run that needs the other build (SLUICE_BASE_BPF=<dir>: the base's kernel
#       programs, e.g. bpf/ of its commit built with make; default: this tree's bpf/, which
#       both agents load otherwise). Adds `ratio ... sluice/base` lines and the
#       base's own ratios against dnsdist (`ratio ... base/dnsdist`). The load average before and
#       after the runs goes into the summary.
# Placement: dnsperf (-c 10 -q 100 -T 1, as ../shared/bench-peers) pinned to core 0 with the
# resolver (the sandbox's kube-dns dnsmasq); the proxy alone on core 1 (Sluice: --workers 1
# --pin-cpu 1; dnsdist: taskset -c 1). Paths:
#   sluice : client pod -> kube-dns:53, steered by tc + sk_lookup into the agent -> kube-dns
#   dnsdist: client pod -> node:15354 (dnsdist in the node netns) -> kube-dns:53
#   direct : node netns -> kube-dns:53 (no proxy; allowed names only)
# Client CPU: dnsperf's user + system time (/usr/bin/time), which also holds the kernel work of the
# query's send and of the softirq that runs inline in it (the host side of the veth, tc, and with
# the DNS deny cache tc's whole answer); "proxy+client" adds the proxy's (`ratio
# total_cpu_us_per_query` lines): the figure that compares when tc answers in the client's context.
# Prints a table and `ratio qps|cpu_us_per_query|p99_ms|wakeups_per_query <set> sluice/<peer> <value>` lines.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${DNS_SETS:=allowed denied mixed allowed@5000 allowed@30000 denied@60000}"
: "${DNS_CLIENTS:=10}" "${DNS_OUTSTANDING:=100}"
: "${SLUICE_BASE:=}"
if [ -n "$SLUICE_BASE" ]; then : "${DNS_SYSTEMS:=sluice base dnsdist direct}"; fi
: "${DNS_SYSTEMS:=sluice dnsdist direct}" "${DNS_PERF:=}"
: "${DNS_PERF_EVENTS:=syscalls:sys_enter_*}"
# SLUICE_AGENT_ARGS: extra `sluice agent` options for the `sluice` system only (not `base`), e.g.
#   SLUICE_AGENT_ARGS="--dns-gather-us=250"
: "${SLUICE_AGENT_ARGS:=}"
agent_args=()
for a in $SLUICE_AGENT_ARGS; do agent_args+=("--agent-arg=$a"); done
TOPO="$ROOT/proxy-config/sandbox/bench-dns.yaml"
DNS_POLICY="$ROOT/proxy-config/examples/bench/dns-allow-list.yaml"
OUT="${OUT:-$BENCH/results/dns-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
PEERS="dnsdist"

for p in dnsperf dnsdist gettext-base; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null || die "apt-get install $p"; }
done
[ -x "$SLUICE" ] || die "$SLUICE not built (make build)"
[ -z "$SLUICE_BASE" ] || [ -x "$(dirname "$SLUICE_BASE")/sluice-agent" ] || die "no sluice-agent beside $SLUICE_BASE"

down() { stop_bg dnsdist; "$SLUICE" sandbox down >/dev/null 2>&1 || true; }
trap down EXIT
trap 'exit 130' INT TERM

"$SLUICE" sandbox up "$TOPO" --no-observer --workers 1 --pin-cpu "$PROXY_CPU" "${agent_args[@]}" >"$RUN_DIR/sandbox-up.log" 2>&1 \
  || { cat "$RUN_DIR/sandbox-up.log" >&2; die "sandbox up failed"; }
read -r NODE_NS NODE_IP CLIENT_NS DNS_IP AGENT_PID < <(python3 - "$STATE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ep = {f"{e['namespace']}/{e['pod']}": e for e in s["endpoints"]}
print(s["nodeNetns"], s["nodeIP"], ep["bench/client"]["netns"], s["dnsIP"], s["agentPID"])
PY
)
export NODE_IP DNS_IP AGENT_PID RUN_DIR
# The resolver on the load generator's core, as the placement above says: left unpinned, the
# scheduler wakes it on the proxy's core (wake-affine), where it preempts the proxy in the middle
# of its send and charges the proxy a context switch per query (seen in a sched trace: one
# involuntary switch of Sluice's worker per query at 5,000 q/s).
for pid in $(python3 -c 'import json,sys; print(" ".join(str(s["pid"]) for s in json.load(open(sys.argv[1]))["servers"] if s["kind"] == "dns"))' "$STATE"); do
  taskset -a -p -c "$LOAD_CPU" "$pid" >/dev/null || die "cannot pin the resolver (pid $pid) to cpu $LOAD_CPU"
done
"$SLUICE" apply -f "$DNS_POLICY" >>"$RUN_DIR/sandbox-up.log" 2>&1 || die "apply failed"
envsubst '${NODE_IP} ${DNS_IP}' <"$BENCH/configs/dnsdist.conf.in" >"$RUN_DIR/dnsdist.conf"
start_bg dnsdist "$NODE_NS" "$PROXY_CPU" dnsdist --supervised --disable-syslog -C "$RUN_DIR/dnsdist.conf"

printf '%s A\n' allowed.example.com foo.internal.example.com bar.internal.example.com \
  db-1.internal.example.com api.internal.example.com >"$RUN_DIR/q-allowed.txt"
printf '%s A\n' denied.example.com evil.test a.b.internal.example.com internal.example.com \
  xallowed.example.com >"$RUN_DIR/q-denied.txt"
paste -d '\n' "$RUN_DIR/q-allowed.txt" "$RUN_DIR/q-denied.txt" >"$RUN_DIR/q-mixed.txt"

# where SYSTEM's queries go: netns server port
target() {
  case $1 in
    sluice | base) echo "$CLIENT_NS $DNS_IP 53" ;;
    dnsdist) echo "$CLIENT_NS $NODE_IP 15354" ;;
    direct) echo "$NODE_NS $DNS_IP 53" ;;
  esac
}
rcode_of() { # SYSTEM NAME -> status word
  local ns ip port; read -r ns ip port < <(target "$1")
  ip netns exec "$ns" dig +time=2 +tries=2 -p "$port" @"$ip" "$2" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
# use_agent SYSTEM: the sandbox's agent is SYSTEM's build (sluice: $SLUICE, base: $SLUICE_BASE);
# swaps it when the other one runs, then waits (deadline 30 s) until an allowed name resolves.
AGENT_OF=sluice
use_agent() {
  local want=$1 bin i
  case $want in sluice | base) ;; *) return 0 ;; esac
  [ "$want" = "$AGENT_OF" ] && return 0
  local extra=("${agent_args[@]}")
  bin=$SLUICE
  [ "$want" = base ] && bin=$SLUICE_BASE && extra=() &&
    [ -n "${SLUICE_BASE_BPF:-}" ] && extra=("--agent-arg=--bpf-dir=$SLUICE_BASE_BPF")
  "$SLUICE" sandbox stop-agent >>"$RUN_DIR/agent-swaps.log" 2>&1 || die "stop-agent failed"
  "$bin" sandbox start-agent --workers 1 --agent-arg="--pin-cpu=$PROXY_CPU" "${extra[@]}" >>"$RUN_DIR/agent-swaps.log" 2>&1 \
    || { cat "$RUN_DIR/agent-swaps.log" >&2; die "start-agent ($bin) failed"; }
  AGENT_PID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agentPID"])' "$STATE")
  AGENT_OF=$want
  for i in $(seq 1 60); do
    [ "$(rcode_of "$want" allowed.example.com)" = NOERROR ] && return 0
    sleep 0.5
  done
  die "$want's agent does not answer after the swap"
}
check() { # the rules answered correctly before any load
  local sys=$1 ok=1 n
  use_agent "$sys"
  for n in allowed.example.com foo.internal.example.com; do
    [ "$(rcode_of "$sys" "$n")" = NOERROR ] || { log "$sys: $n not NOERROR"; ok=0; }
  done
  if [ "$sys" != direct ]; then
    for n in denied.example.com a.b.internal.example.com internal.example.com; do
      [ "$(rcode_of "$sys" "$n")" = REFUSED ] || { log "$sys: $n not REFUSED"; ok=0; }
    done
  fi
  [ $ok = 1 ]
}
sleep 1
systems=()
for sys in $DNS_SYSTEMS; do
  if check "$sys"; then systems+=("$sys"); else log "$sys fails the rule check: not measured"; fi
done
[ ${#systems[@]} -gt 0 ] || die "no system passed the rule check"
log "measuring: ${systems[*]} (sets: $DNS_SETS)"

pid_of() { case $1 in sluice | base) echo "$AGENT_PID" ;; dnsdist) cat "$RUN_DIR/dnsdist.pid" ;; *) echo "" ;; esac; }
ticks() { local p; p=$(pid_of "$1"); [ -n "$p" ] && awk '{print $14+$15}' "/proc/$p/stat" || echo 0; }
# switches SYSTEM: "voluntary involuntary" context switches of all the proxy's threads so far
# (a voluntary one is a sleep: each wake-up of the proxy costs one).
switches() {
  local p; p=$(pid_of "$1")
  [ -n "$p" ] || { echo "0 0"; return; }
  cat /proc/"$p"/task/*/status 2>/dev/null \
    | awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}'
}
# bpf_stats: "run_time_ns run_cnt" of sluice_tc_endpoint, then of sluice_tc_to_endpoint, summed
# over every loaded copy (DNS_BPF_STATS=1 turns kernel.bpf_stats_enabled on for the runs, which
# costs two clock reads per program run, so compare CPU figures only from runs without it).
: "${DNS_BPF_STATS:=}"
bpf_stats() {
  bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
t = {"sluice_tc_endpoint": [0, 0], "sluice_tc_to_endpoint": [0, 0]}
for p in json.load(sys.stdin):
    if p.get("name") in t:
        t[p["name"]][0] += p.get("run_time_ns", 0)
        t[p["name"]][1] += p.get("run_cnt", 0)
print(*t["sluice_tc_endpoint"], *t["sluice_tc_to_endpoint"])'
}
if [ -n "$DNS_BPF_STATS" ]; then
  bpf_stats_was=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
  trap 'sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was"; down' EXIT
fi
cat /proc/loadavg >"$RAW/loadavg.txt"
for rep in $(seq 1 "$REPS"); do
  for set in $DNS_SETS; do
    for sys in "${systems[@]}"; do
      qfile=${set%%@*}; rate=""
      [ "$qfile" != "$set" ] && rate="-Q ${set#*@}"
      [ "$sys" = direct ] && [ "$qfile" != allowed ] && continue
      use_agent "$sys"
      read -r ns ip port < <(target "$sys")
      base="$RAW/$sys.$set.$rep"
      log "dns $sys $set rep $rep"
      perf_pid=""
      if [ "$sys" != direct ] && [ -n "$DNS_PERF" ]; then
        case $DNS_PERF in
          record) perf record -g -o "$base.perf.data" -p "$(pid_of "$sys")" -- sleep "$((DURATION - 1))" 2>/dev/null & ;;
          syscalls) perf stat -e "$DNS_PERF_EVENTS" -p "$(pid_of "$sys")" -o "$base.syscalls.txt" -- sleep "$((DURATION - 1))" 2>/dev/null & ;;
        esac
        perf_pid=$!
      fi
      [ -n "$DNS_BPF_STATS" ] && bpf_stats >"$base.bpf0"
      t0=$(ticks "$sys"); read -r v0 n0 < <(switches "$sys")
      /usr/bin/time -f "%U %S" -o "$base.client" \
        ip netns exec "$ns" taskset -c "$LOAD_CPU" timeout $((DURATION + 20)) dnsperf -s "$ip" -p "$port" \
        -d "$RUN_DIR/q-$qfile.txt" $rate -l "$DURATION" -c "$DNS_CLIENTS" -q "$DNS_OUTSTANDING" -T 1 -v \
        >"$base.txt" 2>&1
      t1=$(ticks "$sys"); read -r v1 n1 < <(switches "$sys")
      [ -n "$DNS_BPF_STATS" ] && bpf_stats >"$base.bpf1"
      if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        if [ "$DNS_PERF" = record ]; then
          perf report -i "$base.perf.data" --stdio --no-children -g none --percent-limit 0.5 --sort comm,dso,symbol \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -70 >"$base.report.txt"
        fi
      fi
      hwm=$(awk '/VmHWM/ {print $2}' "/proc/$(pid_of "$sys")/status" 2>/dev/null || echo 0)
      echo "$sys $set $rep $((t1 - t0)) ${hwm:-0} $((v1 - v0)) $((n1 - n0))" >>"$RAW/cpu.txt"
      sleep "$SETTLE"
    done
  done
done
cat /proc/loadavg >>"$RAW/loadavg.txt"
DURATION="$DURATION" python3 - "$RAW" "$CLK_TCK" <<'PY' | tee "$OUT/summary.md"
import collections, glob, os, re, statistics, sys
raw, hz = sys.argv[1], int(sys.argv[2])
cpu = {}
for line in open(os.path.join(raw, "cpu.txt")):
    f = line.split()
    sys_, set_, rep, ticks, hwm = f[:5]
    vol, invol = (int(f[5]), int(f[6])) if len(f) >= 7 else (0, 0)
    cpu[(sys_, set_, rep)] = (int(ticks) / hz, int(hwm), vol, invol)
rows = collections.defaultdict(list)
for path in glob.glob(os.path.join(raw, "*.txt")):
    name = os.path.basename(path)[:-4]
    if name == "cpu" or name.count(".") != 2:  # perf reports, syscall counts
        continue
    sys_, set_, rep = name.split(".", 2)[0], name.split(".")[1], name.rsplit(".", 1)[1]
    text = open(path).read()
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", text).group(1))
    done = int(re.search(r"Queries completed:\s+(\d+)", text).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", text).group(1))
    lat = sorted(float(l.split()[-1]) for l in text.splitlines() if l.startswith("> "))
    p = lambda q: lat[min(len(lat) - 1, int((len(lat) - 1) * q))] * 1000 if lat else float("nan")
    cpu_s, hwm, vol, invol = cpu.get((sys_, set_, rep), (0, 0, 0, 0))
    proxied = done and sys_ != "direct"
    try:
        client_s = sum(float(x) for x in open(path[:-4] + ".client").read().split()[-2:])
    except (OSError, ValueError):
        client_s = float("nan")
    rows[(sys_, set_)].append(dict(rep=int(rep), qps=qps, lost=lost, p50=p(0.5), p99=p(0.99),
                                   cpu_us=cpu_s * 1e6 / done if proxied else float("nan"),
                                   # dnsperf's own CPU: what a query costs in the sending pod's
                                   # context, where tc runs (and answers, with the deny cache)
                                   client_us=client_s * 1e6 / done if done else float("nan"),
                                   total_us=(cpu_s + client_s) * 1e6 / done if done else float("nan"),
                                   rss_mb=hwm / 1024,
                                   # the proxy's sleeps (= wake-ups) and preemptions per query
                                   vol=vol / done if proxied else float("nan"),
                                   invol=invol / done if proxied else float("nan")))
med = lambda xs: statistics.median(xs)
# a ratio whose denominator is 0 (a proxy tc answered for: no CPU of its own) is nan, not an error
div = lambda a, b: a / b if b else float("nan")
print("| system | set | q/s | lost | p50 ms | p99 ms | proxy CPU µs/query | client CPU µs/query | proxy+client µs/query | wake-ups/query | preempted/query | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
table = {}
for (sys_, set_), rs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    m = {k: med([r[k] for r in rs]) for k in rs[0]}
    table[(sys_, set_)] = m
    print(f"| {sys_} | {set_} | {m['qps']:.0f} | {m['lost']:.0f} | {m['p50']:.3f} | {m['p99']:.3f} | {m['cpu_us']:.1f} | {m['client_us']:.1f} | {m['total_us']:.1f} | {m['vol']:.2f} | {m['invol']:.2f} | {m['rss_mb']:.1f} |")
print()
# a fixed-rate set is a below-saturation figure only when every system kept the rate
for (sys_, set_), m in sorted(table.items()):
    if "@" in set_ and m["qps"] < 0.97 * float(set_.split("@")[1]):
        print(f"note: {sys_} did not keep {set_} ({m['qps']:.0f} q/s): a saturation figure, not a fixed-rate one")
for (sys_, set_), m in sorted(table.items()):
    if sys_ not in ("sluice", "base"):
        continue
    for peer in ("base", "dnsdist", "direct"):
        o = table.get((peer, set_))
        if not o or peer == sys_ or (sys_ == "base" and peer == "direct"):
            continue
        print(f"ratio qps {set_} {sys_}/{peer} {div(m['qps'], o['qps']):.3f}")
        print(f"ratio p99_ms {set_} {sys_}/{peer} {div(m['p99'], o['p99']):.3f}")
        if peer != "direct":
            print(f"ratio cpu_us_per_query {set_} {sys_}/{peer} {div(m['cpu_us'], o['cpu_us']):.3f}")
            print(f"ratio total_cpu_us_per_query {set_} {sys_}/{peer} {div(m['total_us'], o['total_us']):.3f}")
            if o["vol"] > 0:
                print(f"ratio wakeups_per_query {set_} {sys_}/{peer} {div(m['vol'], o['vol']):.3f}")
# per repetition: CPU µs per query of each system, and Sluice's over each other system's
reps = collections.defaultdict(dict)
for (sys_, set_), rs in rows.items():
    for i, r in enumerate(sorted(rs, key=lambda r: r["rep"])):
        reps[(set_, r["rep"])][sys_] = (r["cpu_us"], r["total_us"])
for (set_, rep), by in sorted(reps.items()):
    parts = " ".join(f"{s}={v[0]:.1f}" for s, v in sorted(by.items()) if s != "direct")
    print(f"cpu_us_per_query {set_} rep {rep}: {parts}")
    parts = " ".join(f"{s}={v[1]:.1f}" for s, v in sorted(by.items()))
    print(f"total_cpu_us_per_query {set_} rep {rep}: {parts}")
try:
    loads = [l.split()[:3] for l in open(os.path.join(raw, "loadavg.txt"))]
    print("load average (1/5/15 min) before: " + " ".join(loads[0]) + (", after: " + " ".join(loads[-1]) if len(loads) > 1 else ""))
except (OSError, IndexError):
    pass
for path in sorted(glob.glob(os.path.join(raw, "*.bpf1"))):
    base = path[:-5]
    try:
        a = [int(x) for x in open(base + ".bpf0").read().split()]
        b = [int(x) for x in open(path).read().split()]
        done = int(re.search(r"Queries completed:\s+(\d+)", open(base + ".txt").read()).group(1))
    except (OSError, ValueError, AttributeError):
        continue
    d = [y - x for x, y in zip(a, b)]
    per = lambda ns, n: ns / n if n else float("nan")
    print(f"bpf {' '.join(os.path.basename(base).split('.', 2))}: tc_endpoint {per(d[0], d[1]):.0f} ns/run "
          f"{d[1] / done if done else float('nan'):.2f} runs/query {per(d[0], done):.0f} ns/query; "
          f"tc_to_endpoint {per(d[2], d[3]):.0f} ns/run {d[3] / done if done else float('nan'):.2f} runs/query")
dur = float(os.environ.get("DURATION", "10")) - 1
for path in sorted(glob.glob(os.path.join(raw, "*.syscalls.txt"))):
    base = path[: -len(".syscalls.txt")]
    try:
        qps = float(re.search(r"Queries per second:\s+([\d.]+)", open(base + ".txt").read()).group(1))
    except (OSError, AttributeError):
        continue
    counts = []
    for line in open(path):
        m = re.match(r"\s*([\d,]+)\s+(?:syscalls:sys_enter_)?([\w-]+)", line)
        if m and int(m.group(1).replace(",", "")) > 0:
            counts.append((int(m.group(1).replace(",", "")), m.group(2)))
    per = ", ".join(f"{n}={c / (qps * dur):.2f}" for c, n in sorted(counts, reverse=True)[:8])
    print(f"syscalls {' '.join(os.path.basename(base).split('.', 2))}: {per}")
PY
