#!/usr/bin/env bash
# The observer's cost against get-ka (issue 17): the proxy's CPU per keep-alive GET without the
# observer, then with `sluice-observer` running (the sandbox's metrics `flow,drop,tcp,policy,
# httpV2,dns`, /metrics scraped every SCRAPE_S seconds, one `follow` GetFlows client), same
# sandbox, interleaved per rep. The target: the observer's CPU per request <= 3 % of get-ka's.
#   REPS=3 DURATION=10 (default) | REPS=1 DURATION=3 bash bench/observer.sh (smoke)
#   FOLLOW_CLIENT=c (default): bench/observer_follow.c (libnghttp2, counts gRPC messages by their
#   length prefixes: it keeps up, ~1 response per flow); FOLLOW_CLIENT=python: the grpcio client
#   bench/observer_follow.py (the interoperability client; it falls behind at get-ka's flow rate).
#   SYSCALLS=1: `perf stat` counts the observer's syscalls (send/sendto/sendmsg/write, epoll_wait,
#   epoll_ctl, read) during each metrics + follow run; the summary gives them per 1000 responses.
#   OBSERVER_BASE=/path/to/an/older/sluice-observer: each rep also runs metrics only and metrics +
#   follow with that binary (old and new interleaved in the same window; its rows and ratios are
#   printed as "base").
# Output: bench/results/observer-<timestamp>/ (raw runs); `ratio ...` lines at the end.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${SCRAPE_S:=5}"               # Prometheus scrape interval for the run (Hubble's examples: 15 s)
: "${OBSERVER_CPU:=$LOAD_CPU}"   # the observer and its clients share the load core, not the proxy's
: "${UI:=off}"                   # the service-map page (fed every flow too): off = the issue's target set
PEERS=""

OUT="${OUT:-$BENCH/results/observer-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
trap 'stop_observer; sandbox_down' EXIT
trap 'exit 130' INT TERM
install_deps
OBSERVER="$(dirname "$SLUICE")/sluice-observer"
[ -x "$OBSERVER" ] || die "$OBSERVER not built (make build)"
: "${OBSERVER_BASE:=}"
[ -z "$OBSERVER_BASE" ] || [ -x "$OBSERVER_BASE" ] || die "OBSERVER_BASE $OBSERVER_BASE is not executable"
OBSERVER_NEW="$OBSERVER"
PY="$ROOT/.venv/bin/python"
: "${FOLLOW_CLIENT:=c}"
case "$FOLLOW_CLIENT" in
  c) cc -O2 -Wall -o "$RUN_DIR/observer_follow" "$BENCH/observer_follow.c" -lnghttp2 ||
       die "building bench/observer_follow.c failed (libnghttp2-dev)"
     FOLLOW_CMD=("$RUN_DIR/observer_follow") ;;
  python) "$PY" -c 'import grpc' 2>/dev/null || die "$ROOT/.venv has no grpcio (make deps)"
     FOLLOW_CMD=("$PY" "$BENCH/observer_follow.py") ;;
  *) die "FOLLOW_CLIENT must be c or python" ;;
esac
versions >"$OUT/versions.txt"
echo "OBSERVER_BASE=$OBSERVER_BASE REPS=$REPS DURATION=$DURATION CONNS=$CONNS SCRAPE_S=$SCRAPE_S UI=$UI FOLLOW_CLIENT=$FOLLOW_CLIENT LOAD_CPU=$LOAD_CPU PROXY_CPU=$PROXY_CPU OBSERVER_CPU=$OBSERVER_CPU" >"$OUT/params.txt"
log "results in $OUT"

# cpu_ns PID: CPU time of every thread of PID so far (schedstat, ns).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
requests_of() { awk '/requests in/ {print $1}' "$1"; }
metric_sum() { # metric_sum NAME FILE: the sum of every series of NAME in a scrape
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $NF} END {printf "%.0f\n", s}' "$2"
}
scrape() { ip netns exec "$NODE_NS" curl -s -m 5 "http://$NODE_IP:9965/metrics"; }

# start_observer WITH_FOLLOW: the observer, the scraper and (WITH_FOLLOW=1) the follow client.
start_observer() {
  local UI_ADDRESS=""; [ "$UI" = on ] && UI_ADDRESS="$NODE_IP:12000"
  # --netns, not `ip netns exec`: that remounts /sys and would hide the pinned ring in /sys/fs/bpf
  taskset -c "$OBSERVER_CPU" "$OBSERVER" --netns "$NODE_NS" --grpc-address "$NODE_IP:4244" \
    --metrics-address "$NODE_IP:9965" --ui-address "$UI_ADDRESS" --metrics "flow,drop,tcp,policy,httpV2,dns" \
    >"$RUN_DIR/observer.out" 2>&1 &
  echo $! >"$RUN_DIR/observer.pid"
  log "started observer pid $! (netns $NODE_NS, cpu $OBSERVER_CPU, page ${UI_ADDRESS:-off})"
  local i a b
  for i in $(seq 1 100); do scrape >/dev/null 2>&1 && break; sleep 0.1; done
  # it starts with the records the ring still holds: wait (bounded, 20 s) until it has read them
  for i in $(seq 1 40); do
    scrape >"$RUN_DIR/settle.prom"; a=$(metric_sum hubble_flows_processed_total "$RUN_DIR/settle.prom")
    sleep 0.5
    scrape >"$RUN_DIR/settle.prom"; b=$(metric_sum hubble_flows_processed_total "$RUN_DIR/settle.prom")
    [ "$a" = "$b" ] && break
  done
  if [ "$1" = 1 ]; then
    rm -f "$RUN_DIR/follow.count" "$RUN_DIR/follow.count.first"
    start_bg follow "$NODE_NS" "$OBSERVER_CPU" "${FOLLOW_CMD[@]}" "$NODE_IP:4244" "$RUN_DIR/follow.count"
    # bounded (10 s): a request's flows reach the follow client before the measured run
    for i in $(seq 1 100); do
      in_client curl -s -o /dev/null -m 1 "http://$UPSTREAM_IP/get"
      [ -f "$RUN_DIR/follow.count.first" ] && break
      sleep 0.1
    done
    [ -f "$RUN_DIR/follow.count.first" ] || die "the follow client got no flow"
  fi
  ( while sleep "$SCRAPE_S"; do scrape >/dev/null; done ) &
  echo $! >"$RUN_DIR/scraper.pid"
}

stop_observer() {
  [ -f "${RUN_DIR:-/nonexistent}/scraper.pid" ] && { kill "$(cat "$RUN_DIR/scraper.pid")" 2>/dev/null; rm -f "$RUN_DIR/scraper.pid"; }
  stop_bg follow
  stop_bg observer
}

# one_run NAME REP: get-ka against the sandbox; agent (and observer) CPU per request.
one_run() {
  local name=$1 rep=$2 base="$RAW/$1.$2" a0 a1 o0=0 o1=0 opid="" n fpid="" f0=0 f1=0
  [ -f "$RUN_DIR/observer.pid" ] && opid=$(cat "$RUN_DIR/observer.pid")
  [ -f "$RUN_DIR/follow.pid" ] && { fpid=$(cat "$RUN_DIR/follow.pid"); f0=$(cpu_ns "$fpid"); }
  [ -n "$opid" ] && { scrape >"$base.before.prom"; o0=$(cpu_ns "$opid"); }
  a0=$(cpu_ns "$AGENT_PID")
  # PERF=1: the observer's profile of the first metrics-only run ($OUT/observer.perf.data) and of
  # the first metrics + follow run ($OUT/observer-follow.perf.data); perf report -i FILE
  local perf_data="$OUT/observer.perf.data"
  [ "$name" = with ] && perf_data="$OUT/observer-follow.perf.data"
  [ -n "${PERF:-}" ] && [ -n "$opid" ] && [ ! -f "$perf_data" ] &&
    { perf record -g -o "$perf_data" -p "$opid" -- sleep "$DURATION" >/dev/null 2>&1 & }
  local sys_events=syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_read
  [ -n "${SYSCALLS:-}" ] && [ -n "$opid" ] && { [ "$name" = with ] || [ "$name" = base ]; } &&
    { perf stat -x, -e "$sys_events" -o "$base.syscalls" -p "$opid" -- sleep "$DURATION" >/dev/null 2>&1 & }
  in_client timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://$UPSTREAM_IP/get" >"$base.txt" 2>&1
  a1=$(cpu_ns "$AGENT_PID")
  if [ -n "$opid" ]; then
    # the observer polls every 20 ms: let it read the run's last records before its CPU is read
    sleep 0.2; o1=$(cpu_ns "$opid"); scrape >"$base.after.prom"
    [ -n "$fpid" ] && f1=$(cpu_ns "$fpid")
  fi
  n=$(requests_of "$base.txt")
  { echo "requests=$n"; echo "agent_cpu_ns=$((a1 - a0))"; echo "observer_cpu_ns=$((o1 - o0))"; echo "follow_cpu_ns=$((f1 - f0))"
    if [ -n "$opid" ]; then
      echo "flows=$(( $(metric_sum hubble_flows_processed_total "$base.after.prom") - $(metric_sum hubble_flows_processed_total "$base.before.prom") ))"
      echo "ring_lost=$(( $(metric_sum sluice_flow_ring_lost_events_total "$base.after.prom") - $(metric_sum sluice_flow_ring_lost_events_total "$base.before.prom") ))"
    fi
  } >"$base.meta"
  log "$name rep $rep: $(tr '\n' ' ' <"$base.meta")"
  if [ -n "$opid" ] && ! grep -q '^flows=[1-9]' "$base.meta"; then
    cat "$RUN_DIR/observer.out" >&2; die "the observer counted no flows: nothing was measured"
  fi
  sleep "$SETTLE"
}

sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
check_rules sluice || die "rule check failed"
for rep in $(seq 1 "$REPS"); do
  one_run without "$rep"
  start_observer 0
  one_run metrics "$rep"
  stop_observer
  start_observer 1
  one_run with "$rep"
  stop_observer
  cat "$RUN_DIR/follow.count" >>"$RAW/with.$rep.meta"
  if [ -n "$OBSERVER_BASE" ]; then
    OBSERVER="$OBSERVER_BASE"
    start_observer 0
    one_run basemetrics "$rep"
    stop_observer
    start_observer 1
    one_run base "$rep"
    stop_observer
    cat "$RUN_DIR/follow.count" >>"$RAW/base.$rep.meta"
    OBSERVER="$OBSERVER_NEW"
  fi
done

python3 - "$RAW" "$REPS" <<'PY' | tee "$OUT/summary.txt"
import statistics, sys
raw, reps = sys.argv[1], int(sys.argv[2])
def meta(name, rep):
    d = {}
    for line in open(f"{raw}/{name}.{rep}.meta"):
        for part in line.split():
            if "=" in part:
                k, v = part.split("=", 1)
                d[k] = float(v)
    return d
fmt = lambda xs: f"median {statistics.median(xs)*100:.1f} % (runs {', '.join(f'{x*100:.1f}' for x in xs)}; spread {(max(xs)-min(xs))*100:.1f} points)"
obs, tot, met, rows = [], [], [], []
for rep in range(1, reps + 1):
    a, m, b = meta("without", rep), meta("metrics", rep), meta("with", rep)
    base = a["agent_cpu_ns"] / a["requests"] / 1000
    agent = b["agent_cpu_ns"] / b["requests"] / 1000
    o = b["observer_cpu_ns"] / b["requests"] / 1000
    om = m["observer_cpu_ns"] / m["requests"] / 1000
    obs.append(o / base); tot.append((agent + o) / base); met.append(om / base)
    rows.append(f"rep {rep}: get-ka {a['requests']/1e3:.0f}k req, {base:.2f} us/req without; metrics only: "
                f"observer {om:.2f} us/req ({m.get('flows', 0)/m['requests']:.2f} flows/req); metrics + follow: "
                f"{b['requests']/1e3:.0f}k req, agent {agent:.2f} us/req, observer {o:.2f} us/req "
                f"({b.get('flows', 0)/b['requests']:.2f} flows/req, ring lost {b.get('ring_lost', 0):.0f}, "
                f"follow got {b.get('responses', 0)/b['requests']:.2f} responses/req "
                f"(client CPU {b.get('follow_cpu_ns', 0)/b['requests']/1000:.2f} us/req), "
                f"{b.get('bytes', 0)/max(b.get('responses', 1), 1):.0f} B each)")
print("\n".join(rows))
print("ratio observer CPU / get-ka CPU per request, metrics only (scraped every SCRAPE_S):", fmt(met))
print("ratio observer CPU / get-ka CPU per request (metrics + one follow client; target <= 3 %):", fmt(obs))
print("ratio get-ka CPU per request with the observer (metrics + follow) / without:", fmt(tot))
import os
if os.path.exists(f"{raw}/base.1.meta"):
    bobs, brows = [], []
    for rep in range(1, reps + 1):
        a, b = meta("without", rep), meta("base", rep)
        base = a["agent_cpu_ns"] / a["requests"] / 1000
        o = b["observer_cpu_ns"] / b["requests"] / 1000
        bobs.append(o / base)
        brows.append(f"base rep {rep}: metrics + follow with OBSERVER_BASE: {b['requests']/1e3:.0f}k req, "
                     f"agent {b['agent_cpu_ns']/b['requests']/1000:.2f} us/req, observer {o:.2f} us/req "
                     f"({b.get('flows', 0)/b['requests']:.2f} flows/req, "
                     f"follow got {b.get('responses', 0)/b['requests']:.2f} responses/req)")
    print("\n".join(brows))
    print("ratio base observer CPU / get-ka CPU per request (metrics + one follow client):", fmt(bobs))
    if os.path.exists(f"{raw}/basemetrics.1.meta"):
        bmet = []
        for rep in range(1, reps + 1):
            a, m = meta("without", rep), meta("basemetrics", rep)
            base = a["agent_cpu_ns"] / a["requests"] / 1000
            om = m["observer_cpu_ns"] / m["requests"] / 1000
            bmet.append(om / base)
            print(f"base rep {rep}: metrics only with OBSERVER_BASE: {m['requests']/1e3:.0f}k req, observer {om:.2f} us/req "
                  f"({m.get('flows', 0)/m['requests']:.2f} flows/req)")
        print("ratio base observer CPU / get-ka CPU per request, metrics only:", fmt(bmet))
for name in ("with", "base"):
    for rep in range(1, reps + 1):
        path = f"{raw}/{name}.{rep}.syscalls"
        if not os.path.exists(path):
            continue
        counts = {}
        for line in open(path):
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_") and parts[0].replace(".", "").isdigit():
                counts[parts[2][len("syscalls:sys_enter_"):]] = float(parts[0])
        got = meta(name, rep).get("responses", 0)
        if got and counts:
            print(f"syscalls {name} rep {rep} per 1000 responses: " +
                  ", ".join(f"{k} {v * 1000 / got:.2f}" for k, v in sorted(counts.items())))
PY
