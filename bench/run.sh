#!/usr/bin/env bash
# `make bench`: Sluice against HAProxy, nginx and Envoy in one run (see bench/README.md).
#   REPS=3 DURATION=10 (default) | REPS=1 DURATION=3 bash bench/run.sh (smoke)
#   PHASES="compare variants capped" (default all three; "flows" = only the flow cost, recording switched in one agent); SCENARIOS, PEERS, CONNS: see bench/lib.sh.
#   SLUICE_BASE=/other/.build/release/sluice: phase compare measures that build too (bench/README.md).
# Output: bench/results/<timestamp>/ (raw runs, summary.md); the table and the
# `ratio ...` lines are printed at the end.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${PHASES:=compare variants capped}"

OUT="${OUT:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM

install_deps
versions >"$OUT/versions.txt"
echo "REPS=$REPS DURATION=$DURATION CONNS=$CONNS RATE=${RATE_CONNS}x$RATE_PER_CONN LOAD_CPU=$LOAD_CPU PROXY_CPU=$PROXY_CPU" >"$OUT/params.txt"
log "results in $OUT"

# --- phase 1: Sluice (1 worker on PROXY_CPU) and the peers, same sandbox, interleaved ---------
# With SLUICE_BASE=/path/to/other/.build/release/sluice (an older build, e.g. before a refactor)
# each rep runs twice, once per build, in a fresh sandbox of that build with the peers started
# again in it (the order of the two builds alternates per rep). The base build's runs go to
# $OUT/base/raw (same system names, so `summarize.py $OUT/base` reads them);
# bench/before_after.py compares the two per rep (Sluice / peer in the same sandbox).
compare() {
  if [ -z "${SLUICE_BASE:-}" ]; then compare_reps 1 "$REPS"; return; fi
  local rep first second
  for rep in $(seq 1 "$REPS"); do
    if [ $((rep % 2)) = 1 ]; then first=base second=head; else first=head second=base; fi
    use_build "$first"; compare_reps "$rep" "$rep"
    use_build "$second"; compare_reps "$rep" "$rep"
  done
  use_build head
}

# compare_reps FROM TO: one sandbox of the current build, the peers in it, reps FROM..TO.
compare_reps() {
  local systems=() sys rep sc
  sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
  check_rules sluice && systems+=(sluice)
  for sys in $PEERS; do
    if start_peer "$sys" && check_rules "$sys"; then systems+=("$sys"); else stop_bg "$sys"; fi
  done
  log "measuring ($SLUICE, load $(cut -d' ' -f1-3 /proc/loadavg)): ${systems[*]}"
  echo "$1 $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)" >>"$RAW/loadavg.txt"
  for rep in $(seq "$1" "$2"); do
    for sc in $SCENARIOS; do
      for sys in "${systems[@]}"; do run_load "$sys" "$sc" "$rep"; done
    done
  done
  sandbox_down
}

# use_build head|base: the Sluice binary, its repository (bpf objects), where runs are recorded,
# and the sandbox flags it knows (a base build from before the observer has no --no-observer).
HEAD_SLUICE=$SLUICE HEAD_HOME=$SLUICE_HOME HEAD_RAW=$RAW
use_build() {
  if [ "$1" = base ]; then
    SLUICE=$SLUICE_BASE RAW="$OUT/base/raw"
    SLUICE_HOME=${SLUICE_BASE_HOME:-$(cd "$(dirname "$SLUICE_BASE")/../.." && pwd)}
    "$SLUICE" sandbox up --help 2>&1 | grep -q -- --no-observer || SANDBOX_UP_FLAGS=
  else
    SLUICE=$HEAD_SLUICE SLUICE_HOME=$HEAD_HOME RAW=$HEAD_RAW
    unset SANDBOX_UP_FLAGS
  fi
  export SLUICE_HOME; mkdir -p "$RAW"
}

# --- phase 2: Sluice variants, one fresh sandbox each, interleaved per rep --------------------
# sluice-1w (flows on, 1 worker), sluice-2w (2 workers), the flow cost (flow_segments in the
# 1w sandbox: recording paused and resumed in the same agent), sluice-10k (the 1w sandbox after
# the 10,000-rule policy is applied: apply time and time until in force).
variants() {
  local rep scale="$RUN_DIR/scale-policy.yaml" large="$RUN_DIR/scale-policy-large.yaml"
  local one="$RUN_DIR/scale-policy-one.yaml"
  python3 "$BENCH/scale_policy.py" "$scale" "$SCALE_POLICIES" "$SCALE_RULES" >&2
  # the same file with one rule changed (CNP 0's marker): an incremental apply
  python3 "$BENCH/scale_policy.py" "$one" "$SCALE_POLICIES" "$SCALE_RULES" /scale-marker-one >&2
  python3 "$BENCH/scale_policy.py" "$large" "$SCALE_LARGE_POLICIES" "$SCALE_RULES" /scale-marker-large >&2
  mkdir -p "$RAW/scale"
  for rep in $(seq 1 "$REPS"); do
    sandbox_up --workers 2 --pin-cpu "$PROXY_CPU" || die "sandbox up (2 workers) failed"
    check_rules sluice-2w && run_load sluice-2w get-ka "$rep"
    sandbox_down

    sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
    check_rules sluice-1w && run_load sluice-1w get-ka "$rep" && flow_segments "$rep"
    if apply_scale "$scale" "$rep" && check_rules sluice-10k; then run_load sluice-10k get-ka "$rep"; fi
    # one rule of the 10,000 changed: apply to enforcement when only that object is compiled
    apply_scale "$one" "$rep" one /scale-marker-one || true
    # the 100,000-rule file (its first 1,000 objects replace the 10,000-rule file's), in the
    # first SCALE_LARGE_REPS reps: linear scaling of apply time and memory, and its CPU/request
    if [ "$rep" -le "$SCALE_LARGE_REPS" ] && apply_scale "$large" "$rep" large /scale-marker-large \
      && check_rules sluice-100k; then run_load sluice-100k get-ka "$rep"; fi
    sandbox_down
  done
}

# --- phase "flows": what flow recording costs, inside ONE agent. Separate agents (one with
# --no-flows) drifted from rep to rep by as much as the cost itself (10.3 -> 7.4 µs/request with
# flows off within one run on a quiet machine, docs/performance.md), so each rep starts one agent
# and switches its recording with the control operations `sluice flows pause` / `resume` between
# FLOW_SEGMENTS pairs of short wrk runs (FLOW_SEGMENT_S s each, get-ka, fresh connections, the
# order within a pair alternating: on off, off on, ...). Per segment: the agent's CPU (every
# thread's schedstat run time, ns) over the wrk run and wrk's requests, into raw/flows/segments.txt;
# summarize.py prints per rep the CPU per request on / off (sums over the rep's segments) and the
# `ratio cpu_us_per_req get-ka sluice-1w/sluice-noflows` line as the median of the reps' ratios.
# (PHASES=flows REPS=3 bash bench/run.sh; the variants phase runs the same segments in its
# sluice-1w sandbox.)
# With SLUICE_BASE, each rep runs both builds (the order alternating), the base build's segments
# into $OUT/base/raw/flows (summarised into $OUT/base/summary.md).
flows() {
  local rep b builds="head"
  for rep in $(seq 1 "$REPS"); do
    if [ -n "${SLUICE_BASE:-}" ]; then
      builds="base head"; [ $((rep % 2)) = 0 ] && builds="head base"
    fi
    for b in $builds; do
      use_build "$b"
      sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
      check_rules sluice-1w && flow_segments "$rep"
      sandbox_down
    done
  done
  use_build head
}

# flow_segments REP: the on / off segments of one rep in the running sandbox (recording left on).
flow_segments() {
  local rep=$1 seg v order out="$RAW/flows"
  mkdir -p "$out"
  echo "$rep $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)" >>"$out/loadavg.txt"
  log "flows rep $rep: $FLOW_SEGMENTS x (on, off) segments of ${FLOW_SEGMENT_S}s in agent $AGENT_PID"
  for seg in $(seq 1 "$FLOW_SEGMENTS"); do
    order="on off"; [ $((seg % 2)) = 0 ] && order="off on"
    for v in $order; do flow_segment "$rep" "$seg" "$v" || return 1; done
  done
  "$SLUICE" flows resume >/dev/null
}

# flow_segment REP SEG on|off: switch the agent's recording, then one wrk run measured.
flow_segment() {
  local rep=$1 seg=$2 v=$3 f c0 c1 s0 s1 n0 n1 req
  f="$RAW/flows/get-ka.$rep.$seg.$v.txt"
  if [ "$v" = on ]; then "$SLUICE" flows resume >"$f.op" 2>&1; else "$SLUICE" flows pause >"$f.op" 2>&1; fi \
    || { log "sluice flows $v failed: $(cat "$f.op")"; return 1; }
  n0=$(flow_records)
  c0=$(agent_cpu_ns); s0=$(date +%s.%N)
  in_client timeout $((FLOW_SEGMENT_S + 20)) wrk -t1 -c"$CONNS" -d"${FLOW_SEGMENT_S}s" "$(base_url sluice-1w)/get" >"$f" 2>&1
  s1=$(date +%s.%N); c1=$(agent_cpu_ns)
  n1=$(flow_records)
  req=$(sed -n 's/^ *\([0-9][0-9]*\) requests in.*/\1/p' "$f")
  # rep seg variant agent_cpu_ns requests wall_s flow_records_written
  echo "$rep $seg $v $((c1 - c0)) ${req:-0} $(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.3f", b-a}') $((n1 - n0))" \
    >>"$RAW/flows/segments.txt"
}

# agent_cpu_ns: CPU time of every thread of the agent so far (schedstat run time, ns; utime+stime
# come in 10 ms ticks, too coarse for 3 s segments).
agent_cpu_ns() { cat /proc/"$AGENT_PID"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }

# flow_records: the flow records written so far (`sluice status`: "Flows seen", the ring's next
# sequence number), or 0: shows that a paused segment wrote none.
flow_records() {
  local n
  n=$("$SLUICE" status 2>/dev/null | sed -n 's/.*Flows seen: \([0-9][0-9]*\).*/\1/p')
  echo "${n:-0}"
}

# --- phase 3: two-core scaling with headroom, interleaved per rep ---------------------------
# sluice-1w-cap / sluice-2w-cap: 1 and 2 workers (pinned to cores 1 and 0), each worker thread
# held to CAP_PCT % of a core by CFS bandwidth (its own cgroup), wrk and the upstream free on
# both cores (CAP_LOAD_CPU). Uncapped, the load generator saturates core 0 first and a second
# worker can only take time from it (docs/performance.md); capped, the load side always has
# spare CPU, so the ratio shows what a second worker on its own core adds.
capped() {
  local rep w LOAD_CPU=$CAP_LOAD_CPU
  for rep in $(seq 1 "$REPS"); do
    for w in 1 2; do
      sandbox_up --workers "$w" --pin-cpu "$PROXY_CPU" || die "sandbox up ($w workers) failed"
      cap_workers || die "could not cap the workers"
      check_rules "sluice-${w}w-cap" && run_load "sluice-${w}w-cap" get-ka "$rep"
      sandbox_down
    done
  done
}

# apply_scale FILE REP [TAG] [MARKER]: `sluice apply` wall time (parse + compile + install,
# answered when the agent has published the snapshot), the time until the client sees the marker
# rule work (from the start of `sluice apply`, and from its return: negative when the rule was in
# force before the CLI returned), the agent's RSS before (the policy in force so far), its peak
# during the apply (VmHWM, reset just before through clear_refs) and after it.
apply_scale() {
  local file=$1 rep=$2 tag=${3:-apply} marker=${4:-/scale-marker} before t0 t1 t2 apid rss0
  before=$(in_client curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$UPSTREAM_IP$marker")
  [ "$before" = 403 ] || { log "scale marker $marker answered $before before apply"; return 1; }
  rss0=$(awk '/^VmRSS:/{print $2}' "/proc/$AGENT_PID/status")
  echo 5 >"/proc/$AGENT_PID/clear_refs" 2>/dev/null || true
  t0=$(date +%s%N)
  ( "$SLUICE" apply -f "$file" >"$RUN_DIR/scale-apply.out" 2>&1; date +%s%N >"$RUN_DIR/scale-apply.end" ) &
  apid=$!
  # poll from the client pod until the marker is allowed (bounded: SCALE_TIMEOUT s)
  t1=$(ip netns exec "$CLIENT_NS" timeout "$SCALE_TIMEOUT" bash -c '
    while [ "$(curl -s -o /dev/null -m 1 -w "%{http_code}" "$1")" != 200 ]; do sleep 0.005; done; date +%s%N' \
    _ "http://$UPSTREAM_IP$marker")
  wait "$apid"; t2=$(cat "$RUN_DIR/scale-apply.end" 2>/dev/null)
  rm -f "$RUN_DIR/scale-apply.end"
  [ -n "$t1" ] && [ -n "$t2" ] || { log "scale policy never came in force"; cat "$RUN_DIR/scale-apply.out" >&2; return 1; }
  sleep 1  # the agent trims freed memory after answering; steady RSS is read after that
  { echo "apply_ms=$(( (t2 - t0) / 1000000 ))"
    echo "in_force_ms=$(( (t1 - t0) / 1000000 ))"
    echo "in_force_after_return_ms=$(( (t1 - t2) / 1000000 ))"
    echo "rules=$(grep -c '^        - method:' "$file") policies=$(grep -c '^kind:' "$file") bytes=$(stat -c %s "$file")"
    echo "before_rss_kb=$rss0"
    echo "agent_peak_kb=$(awk '/^VmHWM:/{print $2}' "/proc/$AGENT_PID/status")"
    echo "agent_rss_kb=$(awk '/^VmRSS:/{print $2}' "/proc/$AGENT_PID/status")"
    echo "install: $("$SLUICE" sandbox status 2>/dev/null | grep -o 'last install.*' | head -1)"
  } >"$RAW/scale/$tag.$rep.meta"
  log "scale policy ($tag): $(tr '\n' ' ' <"$RAW/scale/$tag.$rep.meta")"
}

if [ -n "${SLUICE_BASE:-}" ]; then
  [ -x "$SLUICE_BASE" ] || die "SLUICE_BASE $SLUICE_BASE is not an executable"
  echo "base: $(cd "$(dirname "$SLUICE_BASE")/../.." && git rev-parse --short HEAD 2>/dev/null) ($SLUICE_BASE)" \
    >>"$OUT/versions.txt"
fi
for phase in $PHASES; do "$phase"; done
python3 "$BENCH/summarize.py" "$OUT" | tee "$OUT/summary.md"
if [ -d "$OUT/base/raw" ]; then
  cp "$OUT/versions.txt" "$OUT/params.txt" "$OUT/base/"
  python3 "$BENCH/summarize.py" "$OUT/base" >"$OUT/base/summary.md"
  python3 "$BENCH/before_after.py" "$OUT" | tee "$OUT/before-after.md"
fi
