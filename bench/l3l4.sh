#!/usr/bin/env bash
# bench/l3l4.sh: what L3/L4 policy in the datapath costs a pod-to-pod TCP stream (see
# bench/README.md, "L3/L4 policy"). Per repetition, one fresh sandbox (bench topology, no L7
# policy, so nothing is proxied): connection rate (hey, a new TCP connection per request, to
# nginx in the upstream pod) and throughput (iperf3, one stream) with no policy at all; then the
# scale policy (bench/scale_l3l4.py: 1,000 peer identities x 10 ports = 10,000 rules, plus the
# client's allowance) is applied and both are measured again. Prints medians, the ratios
# policy / no policy, the `sluice apply` wall time and the agent's compile and map update times.
# Each repetition first measures the no-policy case with the agent's --no-flows (no trace records
# of allowed connections, bpf/lib/trace.h), so `ratio conn_rate_flows` is what those records cost.
#   REPS=3 DURATION=10 (default) | REPS=1 DURATION=3 bash bench/l3l4.sh (smoke)
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${IDENTITIES:=1000}" "${PORTS:=10}" "${CONN_CLIENTS:=20}" "${SERVER_CPU:=$PROXY_CPU}"
OUT="${OUT:-$BENCH/results/l3l4-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"

down() {
  stop_bg iperf3; stop_bg upstream
  "$SLUICE" sandbox down >/dev/null 2>&1 || true
}
trap down EXIT
trap 'exit 130' INT TERM

for p in hey nginx iperf3 gettext-base; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; } \
    || die "cannot install $p"
done
[ -x "$SLUICE" ] || die "$SLUICE not built (make build)"
{ echo "kernel: $(uname -r); cpus: $(nproc)"; echo "sluice: $(cd "$ROOT" && git rev-parse --short HEAD)"
  echo "iperf3: $(iperf3 --version | head -1)"; echo "REPS=$REPS DURATION=$DURATION CONN_CLIENTS=$CONN_CLIENTS IDENTITIES=$IDENTITIES PORTS=$PORTS"
} >"$OUT/versions.txt"
SCALE="$RUN_DIR/scale-l3l4.yaml"
python3 "$BENCH/scale_l3l4.py" "$SCALE" "$IDENTITIES" "$PORTS"
log "results in $OUT; policy $(grep -c '^kind:' "$SCALE") objects, $((IDENTITIES * PORTS)) peer rules"

up() {
  "$SLUICE" sandbox up "$TOPO" --no-observer --workers 1 "$@" >"$RUN_DIR/sandbox-up.log" 2>&1 || { cat "$RUN_DIR/sandbox-up.log" >&2; return 1; }
  read -r NODE_NS CLIENT_NS UPSTREAM_NS UPSTREAM_IP AGENT_PID < <(python3 - "$STATE" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ep = {f"{e['namespace']}/{e['pod']}": e for e in s["endpoints"]}
print(s["nodeNetns"], ep["bench/client"]["netns"], ep["bench/upstream"]["netns"], ep["bench/upstream"]["ipv4"], s["agentPID"])
PY
)
  export RUN_DIR NODE_IP=10.244.0.1 UPSTREAM_IP HAPROXY_PORT NGINX_PORT ENVOY_PORT ENVOY_ADMIN_PORT
  start_bg upstream "$UPSTREAM_NS" "$SERVER_CPU" nginx -c "$(render upstream-nginx.conf)" -p "$RUN_DIR"
  start_bg iperf3 "$UPSTREAM_NS" "$SERVER_CPU" iperf3 -s -B "$UPSTREAM_IP"
  wait_http "http://$UPSTREAM_IP/get"
}

# measure LABEL REP: connection rate and throughput, raw output under $RAW/LABEL.
measure() {
  local label=$1 rep=$2 dir="$RAW/$1"
  mkdir -p "$dir"
  in_client timeout $((DURATION + 20)) hey -z "${DURATION}s" -c "$CONN_CLIENTS" -disable-keepalive \
    -disable-compression "http://$UPSTREAM_IP/get" >"$dir/conn.$rep.txt" 2>&1
  sleep "$SETTLE"
  in_client timeout $((DURATION + 20)) iperf3 -c "$UPSTREAM_IP" -t "$DURATION" -J >"$dir/stream.$rep.json" 2>&1
  sleep "$SETTLE"
  log "$label rep $rep: $(awk '/Requests\/sec/{print $2 " conn/s"}' "$dir/conn.$rep.txt"), $(python3 -c \
    'import json,sys; print("%.2f Gbit/s" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e9))' \
    "$dir/stream.$rep.json" 2>/dev/null)"
}

for rep in $(seq 1 "$REPS"); do
  up --no-flows || die "sandbox up (no flows) failed"
  measure noflows "$rep"
  down
  up || die "sandbox up failed"
  measure none "$rep"
  t0=$(date +%s%N)
  "$SLUICE" apply -f "$SCALE" >"$RUN_DIR/apply.$rep.out" 2>&1 || { cat "$RUN_DIR/apply.$rep.out" >&2; die "apply failed"; }
  t1=$(date +%s%N)
  "$SLUICE" sandbox status | grep '^last install:' | sed "s/^/apply_wall_ms=$(( (t1 - t0) / 1000000 )) /" >"$RAW/apply.$rep.txt"
  log "scale policy: $(cat "$RAW/apply.$rep.txt")"
  # The policy is in force: a port no rule allows is dropped, the measured ports pass.
  if in_client nc -z -w 1 "$UPSTREAM_IP" 10000; then die "port 10000 open under the scale policy"; fi
  measure policy "$rep"
  down
done

python3 - "$RAW" "$REPS" <<'PY' | tee "$OUT/summary.md"
import json, re, statistics, sys
raw, reps = sys.argv[1], int(sys.argv[2])
def conn(label):
    out = []
    for r in range(1, reps + 1):
        m = re.search(r"Requests/sec:\s+([0-9.]+)", open(f"{raw}/{label}/conn.{r}.txt").read())
        out.append(float(m.group(1)))
    return statistics.median(out)
def stream(label):
    return statistics.median(json.load(open(f"{raw}/{label}/stream.{r}.json"))["end"]["sum_received"]["bits_per_second"]
                             for r in range(1, reps + 1))
apply = [open(f"{raw}/apply.{r}.txt").read() for r in range(1, reps + 1)]
num = lambda key: statistics.median(float(re.search(key + r"[= ]([0-9.]+)", a).group(1)) for a in apply)
c0, c1, s0, s1 = conn("none"), conn("policy"), stream("none"), stream("policy")
cn, sn = conn("noflows"), stream("noflows")
print("| pod-to-pod TCP (median of %d) | no policy | 10,000-rule policy | ratio |" % reps)
print("|---|---|---|---|")
print("| connections/s (hey, no keep-alive) | %.0f | %.0f | %.3f |" % (c0, c1, c1 / c0))
print("| connections/s without flow records (--no-flows) | %.0f | | |" % cn)
print("| stream throughput (iperf3, Gbit/s) | %.2f | %.2f | %.3f |" % (s0 / 1e9, s1 / 1e9, s1 / s0))
print()
print("policy install (median): `sluice apply` %.0f ms wall; agent compile %.1f ms, map update %.1f ms"
      % (num("apply_wall_ms"), num("compile"), num("maps")))
print("entries: " + re.search(r"\((.*)\)", apply[0]).group(1))
print("ratio conn_rate %.3f" % (c1 / c0))
print("ratio throughput %.3f" % (s1 / s0))
print("ratio conn_rate_flows %.3f" % (c0 / cn))
print("ratio throughput_flows %.3f" % (s0 / sn))
PY
