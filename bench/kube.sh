#!/usr/bin/env bash
# Issue 18's Kubernetes bench: the agent's memory with KUBE_PODS pods (of another node, so every
# one is a remote endpoint in the ipcache, with KUBE_POLICIES distinct label sets numbered
# cluster-wide as SluiceIdentity objects) and KUBE_POLICIES CiliumNetworkPolicies in the API, and
# the time from creating one CNP of KUBE_RULES HTTP rules in the API to the agent reporting it in
# force (`sluice sandbox status`: "policies from the API in force: N"), REPS times.
#
# The sandbox's bench node with its agent restarted on the fake API server
# (integration/kube/fakeapi), which runs inside the node's network namespace so the agent reaches
# it on that namespace's loopback. Holds the sandbox lock throughout (bench_prelude).
# Prints: the first sync (agent start -> all policies in force), VmRSS steady (after the first
# sync and once more after the big policies) and VmHWM (peak), and each apply -> in force time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_prelude "$@"
: "${KUBE_PODS:=5000}" "${KUBE_POLICIES:=1000}" "${KUBE_RULES:=1000}" "${REPS:=3}"
[ -x "$SLUICE" ] || die "$SLUICE not built (make build)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || die "$PY missing (make deps)"
OUT="$ROOT/bench/results/kube-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
FAKE_PID=""
cleanup() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; fi
  "$SLUICE" sandbox down >/dev/null 2>&1 || true
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# "policies from the API in force: N" or "policies from the API: N in force, ..."
in_force() {
  "$SLUICE" sandbox status 2>/dev/null \
    | sed -n -e 's/^ *policies from the API in force: \([0-9]*\).*/\1/p' -e 's/^ *policies from the API: \([0-9]*\) in force.*/\1/p'
}
wait_in_force() { # wait_in_force N DEADLINE_S
  local end=$(( $(date +%s) + $2 ))
  until [ "$(in_force)" = "$1" ]; do
    [ "$(date +%s)" -lt "$end" ] || { "$SLUICE" sandbox status >&2 || true; die "the agent did not report $1 policies in force within $2 s"; }
    sleep 0.02
  done
}
# The last install's ipcache entries (the remote pods are in once every identity is numbered).
ipcache() { "$SLUICE" sandbox status 2>/dev/null | sed -n 's/.* \([0-9]*\) ipcache entries.*/\1/p' | tail -1; }
wait_ipcache() { # wait_ipcache AT_LEAST DEADLINE_S
  local end=$(( $(date +%s) + $2 ))
  until [ "$(ipcache || true)" -ge "$1" ] 2>/dev/null; do
    [ "$(date +%s)" -lt "$end" ] || die "the agent's ipcache did not reach $1 entries within $2 s"
    sleep 0.05
  done
}
agent_pid() { python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["agentPID"])'; }
kb() { awk -v k="$1:" '$1==k{print $2}' "/proc/$2/status"; }

"$SLUICE" sandbox up "$TOPO" --no-observer >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; die "sandbox up"; }
NODE_NS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeNetns"])')
ip netns exec "$NODE_NS" ip link set lo up
ip netns exec "$NODE_NS" "$PY" "$ROOT/integration/kube/fakeapi/server.py" --dir "$OUT/api" --bookmark-interval 1 \
  --load "$ROOT/deploy/cilium-crds/policies.yaml" --load "$ROOT/deploy/01-sluice-identity-crd.yaml" \
  >"$OUT/api.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 1 1000); do [ -f "$OUT/api/server.json" ] && break; sleep 0.02; done
[ -f "$OUT/api/server.json" ] || die "the fake API server did not start ($OUT/api.log)"
t=$(now_ms)
ip netns exec "$NODE_NS" "$PY" "$BENCH/kube_populate.py" "$OUT/api" --pods "$KUBE_PODS" --policies "$KUBE_POLICIES"
log "API populated: $KUBE_PODS pods, $KUBE_POLICIES CNPs in $(( $(now_ms) - t )) ms"

"$SLUICE" sandbox stop-agent >>"$OUT/up.log" 2>&1 || die "stop-agent"
t=$(now_ms)
"$SLUICE" sandbox start-agent --agent-arg=--k8s-kubeconfig="$OUT/api/kubeconfig" --agent-arg=--node-name=n1 \
  >>"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; die "start-agent"; }
wait_in_force "$KUBE_POLICIES" 600
policies_ms=$(( $(now_ms) - t ))
# Policies come in before the pods are listed and numbered: the sync is complete once every
# remote pod is in the ipcache.
wait_ipcache "$KUBE_PODS" 600
sync_ms=$(( $(now_ms) - t ))
PID=$(agent_pid)
sleep 5  # a sampling window, not synchronisation: steady RSS once the first install has settled
rss1=$(kb VmRSS "$PID")
"$SLUICE" sandbox status >"$OUT/status-synced.txt"
identities=$(ip netns exec "$NODE_NS" "$PY" "$BENCH/kube_populate.py" "$OUT/api" --count-identities)

times=()
for rep in $(seq 1 "$REPS"); do
  t=$(now_ms)
  ip netns exec "$NODE_NS" "$PY" "$BENCH/kube_populate.py" "$OUT/api" --big "big-$rep" --rules "$KUBE_RULES"
  wait_in_force $(( KUBE_POLICIES + rep )) 120
  ms=$(( $(now_ms) - t ))
  times+=("$ms")
  log "rep $rep: CNP of $KUBE_RULES HTTP rules created -> in force in $ms ms"
done
sleep 5  # sampling window as above
rss2=$(kb VmRSS "$PID")
hwm=$(kb VmHWM "$PID")
"$SLUICE" sandbox status >"$OUT/status-end.txt"
{
  echo "kube: $KUBE_PODS pods (remote, $KUBE_POLICIES label sets), $KUBE_POLICIES CNPs; sluice $(cd "$ROOT" && git rev-parse --short HEAD)"
  echo "first sync: agent start -> $KUBE_POLICIES policies in force $policies_ms ms, -> every pod in the ipcache $sync_ms ms; SluiceIdentity objects: $identities"
  echo "agent VmRSS steady after sync: $((rss1 / 1024)) MiB ($rss1 kB); after $REPS big CNPs: $((rss2 / 1024)) MiB ($rss2 kB)"
  echo "agent VmHWM (peak): $((hwm / 1024)) MiB ($hwm kB)"
  echo "apply -> in force, CNP of $KUBE_RULES HTTP rules: ${times[*]} ms (median $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (REPS + 1) / 2 ))p") ms)"
} | tee "$OUT/summary.txt"
