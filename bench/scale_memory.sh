#!/usr/bin/env bash
# Where the agent's resident memory goes with the policy-scale file, in the sandbox, for one or
# more binaries measured alternately in the same window (issue 19):
#   BINARIES="/path/old/sluice /path/new/sluice" MEM_REPS=2 bash bench/scale_memory.sh
# An entry PATH@TUNABLES runs that binary's agent with GLIBC_TUNABLES=TUNABLES (malloc settings
# measured without a rebuild, e.g. .build/release/sluice@glibc.malloc.arena_max=1).
# For each binary and rep: a fresh sandbox (1 worker, flows on, the bench policy), the agent's
# RSS split (smaps_rollup: anonymous vs file-backed; the largest mappings from smaps), then the
# 10,000-rule file applied (peak = VmHWM reset just before), RSS 1 s after, the same split, then
# the file with one rule changed. Prints one line per binary and rep, and the medians.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${BINARIES:=$SLUICE}"
: "${MEM_REPS:=${REPS:-2}}"
OUT="${OUT:-$BENCH/results/memory-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run"
mkdir -p "$RUN_DIR"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM
[ -n "$(command -v curl)" ] || die "curl missing"

scale="$RUN_DIR/scale-policy.yaml" one="$RUN_DIR/scale-policy-one.yaml"
python3 "$BENCH/scale_policy.py" "$scale" "$SCALE_POLICIES" "$SCALE_RULES" >&2
python3 "$BENCH/scale_policy.py" "$one" "$SCALE_POLICIES" "$SCALE_RULES" /scale-marker-one >&2

kb() { awk -v f="$1" '$1 == f":" {print $2}' "$2"; }
split() {  # split PID TAG: rss anon file (kB) and the five largest mappings by Rss
  local pid=$1 tag=$2
  cat "/proc/$pid/smaps_rollup" >"$RUN_DIR/$tag.rollup"
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6==""?"[anon]":$6)} /^Rss:/{rss[name]+=$2} END{for (n in rss) print rss[n], n}' \
    "/proc/$pid/smaps" | sort -rn | head -6 >"$RUN_DIR/$tag.maps"
  echo "rss=$(kb Rss "$RUN_DIR/$tag.rollup") anon=$(kb Anonymous "$RUN_DIR/$tag.rollup") file=$(( $(kb Rss "$RUN_DIR/$tag.rollup") - $(kb Anonymous "$RUN_DIR/$tag.rollup") ))"
}

apply_one() {  # apply_one FILE MARKER TAG: peak and steady kB
  local file=$1 marker=$2 tag=$3 t0 t1
  echo 5 >"/proc/$AGENT_PID/clear_refs"
  t0=$(date +%s%N)
  "$SLUICE" apply -f "$file" >"$RUN_DIR/$tag.out" 2>&1 || { cat "$RUN_DIR/$tag.out" >&2; return 1; }
  t1=$(date +%s%N)
  ip netns exec "$CLIENT_NS" timeout 30 bash -c \
    'while [ "$(curl -s -o /dev/null -m 1 -w "%{http_code}" "$1")" != 200 ]; do sleep 0.005; done' _ "http://$UPSTREAM_IP$marker" \
    || { log "$marker never allowed"; return 1; }
  local peak
  peak=$(awk '/^VmHWM:/{print $2}' "/proc/$AGENT_PID/status")
  sleep 1  # the agent trims after answering
  echo "apply_ms=$(( (t1 - t0) / 1000000 )) peak=$peak $(split "$AGENT_PID" "$tag")"
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
    ten=$(apply_one "$scale" /scale-marker "$name.$rep.10k") || die "apply failed ($bin)"
    chg=$(apply_one "$one" /scale-marker-one "$name.$rep.one") || die "apply (one) failed ($bin)"
    echo "$name rep=$rep demo: $base | 10k: $ten | one: $chg" | tee -a "$OUT/lines.txt"
    sandbox_down
  done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/lines.txt"
log "results in $OUT"
