#!/usr/bin/env bash
# Issue 13's JSON question, measured: the agent's peak RSS with SluiceJSON (the default build)
# against the same agent whose `JSON` API runs on FoundationEssentials' JSONEncoder/JSONDecoder
# (built by `make bench-json` into .build-json with -DSLUICE_FOUNDATION_JSON). Both agents run
# the same workload in the same run, alternating, REPS times: the tutorial sandbox, every tutorial
# policy applied through the control socket (JSON requests and stored documents), 200 requests,
# DNS lookups that the toFQDNs-free DNS rules answer, status / policy get -o json / endpoint list
# (JSON answers). Prints each agent's VmHWM and a `ratio` line; docs/performance.md has the result.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_prelude "$@"
: "${REPS:=3}"
VARIANT_AGENT="$ROOT/.build-json/release/sluice-agent"
[ -x "$VARIANT_AGENT" ] || die "build the variant first: make bench-json"
OUT="$ROOT/bench/results/json-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/sluicejson" "$OUT/foundation"
cp "$ROOT/.build/release/sluice" "$ROOT/.build/release/sluice-agent" "$OUT/sluicejson/"
cp "$ROOT/.build/release/sluice" "$OUT/foundation/" && cp "$VARIANT_AGENT" "$OUT/foundation/"
TOPO_T="$ROOT/proxy-config/sandbox/tutorial.yaml"
EX="$ROOT/proxy-config/examples/tutorial"

one() { # one VARIANT REP -> prints peak RSS in kB
  local bin="$OUT/$1/sluice" pid hwm i
  "$bin" sandbox up "$TOPO_T" >"$OUT/$1/up.$2.log" 2>&1 || { cat "$OUT/$1/up.$2.log" >&2; die "sandbox up ($1)"; }
  for f in "$EX"/*.yaml; do "$bin" apply -f "$f" >/dev/null || die "apply $f ($1)"; done
  for i in $(seq 1 200); do
    "$bin" sandbox exec frontend/frontend -- curl -s -o /dev/null -m 2 http://backend.backend.svc.cluster.local/get
  done
  for i in $(seq 1 20); do
    "$bin" sandbox exec frontend/frontend -- dig +short +time=1 +tries=1 backend.backend.svc.cluster.local >/dev/null || true  # answers are not what is measured
  done
  "$bin" status >/dev/null && "$bin" policy get -o json >/dev/null && "$bin" endpoint list >/dev/null \
    || die "introspection ($1)"
  pid=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["agentPID"])')
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
  "$bin" sandbox down >/dev/null 2>&1
  echo "$hwm"
}

for rep in $(seq 1 "$REPS"); do
  for v in sluicejson foundation; do
    kb=$(one "$v" "$rep")
    log "$v rep $rep: agent VmHWM ${kb} kB"
    echo "$kb" >>"$OUT/$v.hwm"
  done
done
python3 - "$OUT" <<'PY'
import statistics, sys
out = sys.argv[1]
m = {v: statistics.median(int(x) for x in open(f"{out}/{v}.hwm")) for v in ("sluicejson", "foundation")}
for v, kb in m.items():
    print(f"{v}: agent peak RSS median {kb/1024:.2f} MiB")
print(f"ratio agent-peak-rss foundation-json/sluicejson {m['foundation']/m['sluicejson']:.3f} "
      f"(+{(m['foundation']-m['sluicejson'])/1024:.2f} MiB)")
PY
