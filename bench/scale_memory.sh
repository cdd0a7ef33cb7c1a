#!/usr/bin/env bash
# Where the agent's resident memory goes with the policy-scale file, in the sandbox, for one or
# more binaries measured alternately in the same window (issue 19):
#   BINARIES="/path/old/sluice /path/new/sluice" MEM_REPS=2 bash bench/scale_memory.sh
# An entry PATH@TUNABLES runs that binary's agent with GLIBC_TUNABLES=TUNABLES (malloc settings
# measured without a rebuild, e.g. .build/release/sluice@glibc.malloc.arena_max=1).
# For each binary and rep: a fresh sandbox (1 worker, flows on, the bench policy), the agent's
# RSS split (smaps_rollup: anonymous vs file-backed; the largest mappings from smaps; the whole
# smaps is kept as RUN_DIR/TAG.smaps), then the
# 10,000-rule file applied (peak = VmHWM reset just before), RSS 1 s after, the same split
# (MEM_LOAD_S > 0: again after get-ka for that many seconds, "10k after get-ka", the steady state
# of a node that serves with the 10,000 rules in force), then the file with one rule changed;
# then (MEM_LOAD_S > 0) get-ka again and the RSS after it (the request path's pages and buffers),
# and
# (MEM_LARGE=1) the 100,000-rule file applied the same way. "peak" is VmHWM over the apply (reset
# just before `sluice apply`, read once the marker rule answers and the CLI returned), "steady"
# the RSS 1 s later (the agent trims after answering); apply_ms is `sluice apply`'s wall time and
# inforce_after_return_ms the time from its return until the marker rule first answered 200
# (polled from the client pod during the apply, as bench/run.sh does: negative when in force
# before the CLI returned); RUN_DIR/TAG.rss traces the agent's VmRSS over the apply;
# MEM_HEAP=1 keeps RUN_DIR/TAG.heap for each state (bench/heap_pages.py: the main heap's resident
# pages by how full of live blocks they are). Prints one line per binary and rep.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${BINARIES:=$SLUICE}"
: "${MEM_REPS:=${REPS:-2}}"
: "${MEM_LOAD_S:=3}"
: "${MEM_LARGE:=0}"
OUT="${OUT:-$BENCH/results/memory-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run"
mkdir -p "$RUN_DIR"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM
[ -n "$(command -v curl)" ] || die "curl missing"

scale="$RUN_DIR/scale-policy.yaml" one="$RUN_DIR/scale-policy-one.yaml"
python3 "$BENCH/scale_policy.py" "$scale" "$SCALE_POLICIES" "$SCALE_RULES" >&2
python3 "$BENCH/scale_policy.py" "$one" "$SCALE_POLICIES" "$SCALE_RULES" /scale-marker-one >&2
large="$RUN_DIR/scale-policy-large.yaml"
[ "$MEM_LARGE" = 1 ] && python3 "$BENCH/scale_policy.py" "$large" "$SCALE_LARGE_POLICIES" "$SCALE_RULES" /scale-marker-large >&2

kb() { awk -v f="$1" '$1 == f":" {print $2}' "$2"; }
split() {  # split PID TAG: rss anon file (kB), the five largest mappings by Rss, the whole smaps
  local pid=$1 tag=$2
  cat "/proc/$pid/smaps_rollup" >"$RUN_DIR/$tag.rollup"
  cat "/proc/$pid/smaps" >"$RUN_DIR/$tag.smaps"
  [ "${MEM_HEAP:-0}" = 1 ] && python3 "$BENCH/heap_pages.py" "$pid" --types 25 --arenas >"$RUN_DIR/$tag.heap" 2>&1
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6==""?"[anon]":$6)} /^Rss:/{rss[name]+=$2} END{for (n in rss) print rss[n], n}' \
    "/proc/$pid/smaps" | sort -rn | head -6 >"$RUN_DIR/$tag.maps"
  echo "rss=$(kb Rss "$RUN_DIR/$tag.rollup") anon=$(kb Anonymous "$RUN_DIR/$tag.rollup") file=$(( $(kb Rss "$RUN_DIR/$tag.rollup") - $(kb Anonymous "$RUN_DIR/$tag.rollup") ))"
}

apply_one() {  # apply_one FILE MARKER TAG: apply time, in force, peak and steady kB
  local file=$1 marker=$2 tag=$3 t0 t1 t2 apid trace peak
  echo 5 >"/proc/$AGENT_PID/clear_refs"
  # the agent's VmRSS every ~2 ms during the apply ($tag.rss: ns kB), to see which step peaks
  python3 - "$AGENT_PID" "$RUN_DIR/$tag.rss" "$RUN_DIR/$tag.stop" <<'PY' &
import os, sys, time
pid, out, stop = sys.argv[1:4]
with open(out, "w") as f:
    while not os.path.exists(stop):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                f.write(f"{time.monotonic_ns()} {line.split()[1]}\n")
        time.sleep(0.002)
PY
  trace=$!
  t0=$(date +%s%N)
  ( "$SLUICE" apply -f "$file" >"$RUN_DIR/$tag.out" 2>&1; echo "$? $(date +%s%N)" >"$RUN_DIR/$tag.end" ) &
  apid=$!
  # polled from the client pod while the CLI runs, as bench/run.sh does: negative in-force
  # times mean the rule worked before `sluice apply` returned
  t1=$(ip netns exec "$CLIENT_NS" timeout "$SCALE_TIMEOUT" bash -c \
    'while [ "$(curl -s -o /dev/null -m 1 -w "%{http_code}" "$1")" != 200 ]; do sleep 0.005; done; date +%s%N' \
    _ "http://$UPSTREAM_IP$marker")
  wait "$apid"
  read -r rc t2 <"$RUN_DIR/$tag.end"
  [ "$rc" = 0 ] || { cat "$RUN_DIR/$tag.out" >&2; touch "$RUN_DIR/$tag.stop"; wait "$trace"; return 1; }
  [ -n "$t1" ] || { log "$marker never allowed"; touch "$RUN_DIR/$tag.stop"; wait "$trace"; return 1; }
  peak=$(awk '/^VmHWM:/{print $2}' "/proc/$AGENT_PID/status")
  sleep 1  # the agent trims after answering
  touch "$RUN_DIR/$tag.stop"; wait "$trace"
  echo "apply_ms=$(( (t2 - t0) / 1000000 )) inforce_after_return_ms=$(( (t1 - t2) / 1000000 )) peak=$peak $(split "$AGENT_PID" "$tag")"
}

load_run() {  # load_run TAG: get-ka for MEM_LOAD_S seconds, then 1 s of rest
  ip netns exec "$CLIENT_NS" taskset -c "$LOAD_CPU" timeout $((MEM_LOAD_S + 20)) \
    wrk -t1 -c"$CONNS" -d"${MEM_LOAD_S}s" "http://$UPSTREAM_IP/get" >"$RUN_DIR/$1.txt" 2>&1
  sleep 1
}

for rep in $(seq 1 "$MEM_REPS"); do
  for entry in $BINARIES; do
    bin=${entry%%@*} tunables=
    [ "$bin" = "$entry" ] || tunables=${entry#*@}
    SLUICE=$bin
    name=$(basename "$(dirname "$(dirname "$(dirname "$bin")")")")${tunables:+@$tunables}
    if [ -n "$tunables" ]; then export GLIBC_TUNABLES=$tunables; else unset GLIBC_TUNABLES; fi
    sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed ($bin)"
    unset GLIBC_TUNABLES
    sleep 1
    base=$(split "$AGENT_PID" "$name.$rep.base")
    if [ "$MEM_LOAD_S" != 0 ]; then
      load_run "$name.$rep.base-load"
      base="$base | demo after get-ka: $(split "$AGENT_PID" "$name.$rep.base-load")"
    fi
    ten=$(apply_one "$scale" /scale-marker "$name.$rep.10k") || die "apply failed ($bin)"
    if [ "$MEM_LOAD_S" != 0 ]; then
      load_run "$name.$rep.10k-load"
      ten="$ten | 10k after get-ka: $(split "$AGENT_PID" "$name.$rep.10k-load")"
    fi
    chg=$(apply_one "$one" /scale-marker-one "$name.$rep.one") || die "apply (one) failed ($bin)"
    load= big=
    if [ "$MEM_LOAD_S" != 0 ]; then
      load_run "$name.$rep.load"
      load=" | after get-ka: $(split "$AGENT_PID" "$name.$rep.load")"
    fi
    if [ "$MEM_LARGE" = 1 ]; then
      big=" | 100k: $(apply_one "$large" /scale-marker-large "$name.$rep.100k")" || die "apply (100k) failed ($bin)"
    fi
    echo "$name rep=$rep demo: $base | 10k: $ten | one: $chg$load$big" | tee -a "$OUT/lines.txt"
    sandbox_down
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/lines.txt"
log "results in $OUT"
