#!/usr/bin/env bash
# Issue 18's Kubernetes bench, on the two-node sandbox (proxy-config/sandbox/two-node.yaml: agents
# n1 and n2 watching the sandbox's fake API server, integration/kube/fakeapi):
#
# 1. the API is loaded with KUBE_PODS pods of a third node (so both agents hold every one as a
#    remote endpoint in the ipcache, KUBE_POLICIES distinct label sets numbered cluster-wide as
#    SluiceIdentity objects) and KUBE_POLICIES CiliumNetworkPolicies, while both agents watch;
# 2. the first sync: until each agent has the policies in force and every pod in its ipcache;
#    then each agent's VmRSS (steady) is read;
# 3. REPS times: `kubectl apply -f` (the real kubectl, the sandbox's kubeconfig) of one CNP of
#    KUBE_RULES HTTP rules, timed from kubectl's start to the moment each agent's
#    `sluice status` lists it in force (n1 and n2 printed apart; both = the later one);
# 4. each agent's VmRSS again and VmHWM (peak).
#
# Holds the sandbox lock throughout (bench_prelude).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_prelude "$@"
: "${KUBE_PODS:=5000}" "${KUBE_POLICIES:=1000}" "${KUBE_RULES:=1000}" "${REPS:=3}"
[ -x "$SLUICE" ] || die "$SLUICE not built (make build)"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || die "$PY missing (make deps)"
KUBECTL=$(command -v kubectl || true)
[ -n "$KUBECTL" ] || die "kubectl missing (apt-get install kubernetes-client; make deps)"
OUT="$ROOT/bench/results/kube-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
KUBECONFIG=/run/sluice/sandbox/kubeconfig
API_DIR=/run/sluice/sandbox/kubeapi
SOCKS=(/run/sluice/agent.sock /run/sluice/nodes/n2/agent.sock)
trap '"$SLUICE" sandbox down >/dev/null 2>&1 || true' EXIT

now_ms() { date +%s%3N; }
status() { "$SLUICE" status --socket "$1" 2>/dev/null || true; }
# The last install's ipcache entries (the remote pods are in once every identity is numbered).
ipcache() { status "$1" | sed -n 's/.* \([0-9]*\) ipcache entries.*/\1/p' | tail -1; }
wait_both() { # wait_both WHAT DEADLINE_S CHECK (CHECK SOCKET succeeds on both)
  local end=$(( $(date +%s) + $2 )) sock
  for sock in "${SOCKS[@]}"; do
    until "$3" "$sock"; do
      [ "$(date +%s)" -lt "$end" ] || { status "$sock" >&2; die "$1 at $sock: not within $2 s"; }
      sleep 0.05
    done
  done
}
# Every bench CNP (bench/pN) in force (the sandbox has API policies of its own).
all_policies() {
  [ "$(status "$1" | grep -c 'CiliumNetworkPolicy bench/p[0-9]')" = "$KUBE_POLICIES" ]
}
all_pods() { [ "$(ipcache "$1" || echo 0)" -ge "$KUBE_PODS" ] 2>/dev/null; }
agent_pids() {
  python3 -c 'import json; print(" ".join(str(n["agentPID"]) for n in json.load(open("/run/sluice/sandbox/state.json"))["nodes"]))'
}
kb() { awk -v k="$1:" '$1==k{print $2}' "/proc/$2/status"; }
mib() { echo "$(( $1 / 1024 )) MiB ($1 kB)"; }

"$SLUICE" sandbox up "$ROOT/proxy-config/sandbox/two-node.yaml" --no-observer >"$OUT/up.log" 2>&1 \
  || { cat "$OUT/up.log" >&2; die "sandbox up"; }
read -r PID1 PID2 < <(agent_pids)
t=$(now_ms)
"$PY" "$BENCH/kube_populate.py" "$API_DIR" --pods "$KUBE_PODS" --policies "$KUBE_POLICIES" --node n3
populated=$(( $(now_ms) - t ))
log "API populated: $KUBE_PODS pods, $KUBE_POLICIES CNPs in $populated ms"
wait_both "$KUBE_POLICIES policies in force" 600 all_policies
policies_ms=$(( $(now_ms) - t ))
wait_both "$KUBE_PODS pods in the ipcache" 600 all_pods
sync_ms=$(( $(now_ms) - t ))
sleep 5  # a sampling window, not synchronisation: steady RSS once the first install has settled
rss1=("$(kb VmRSS "$PID1")" "$(kb VmRSS "$PID2")")
for i in 0 1; do status "${SOCKS[$i]}" >"$OUT/status-synced-n$((i + 1)).txt"; done
identities=$("$PY" "$BENCH/kube_populate.py" "$API_DIR" --count-identities)

# One CNP of KUBE_RULES HTTP rules, as kubectl applies it.
big_cnp() { # big_cnp NAME
  "$PY" - "$1" "$KUBE_RULES" <<'PY'
import json, sys
name, rules = sys.argv[1], int(sys.argv[2])
print(json.dumps({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                  "metadata": {"name": name, "namespace": "bench"},
                  "spec": {"endpointSelector": {"matchLabels": {"app": "upstream"}},
                           "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "client"}}],
                                        "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                                     "rules": {"http": [{"method": "GET", "path": f"/big/{i}"}
                                                                        for i in range(rules)]}}]}]}}))
PY
}
has_policy() { status "$1" | grep -q -- "CiliumNetworkPolicy bench/$2\$"; }
both=() n1s=() n2s=() kubectls=()
for rep in $(seq 1 "$REPS"); do
  name="big-$rep"
  big_cnp "$name" >"$OUT/$name.json"
  t=$(now_ms)
  "$KUBECTL" --kubeconfig "$KUBECONFIG" apply -f "$OUT/$name.json" >/dev/null
  applied=$(( $(now_ms) - t ))
  n1="" n2="" end=$(( $(date +%s) + 120 ))
  while [ -z "$n1" ] || [ -z "$n2" ]; do
    [ -n "$n1" ] || { has_policy "${SOCKS[0]}" "$name" && n1=$(( $(now_ms) - t )); } || true
    [ -n "$n2" ] || { has_policy "${SOCKS[1]}" "$name" && n2=$(( $(now_ms) - t )); } || true
    [ "$(date +%s)" -lt "$end" ] || die "$name: n1 ${n1:-never}, n2 ${n2:-never} ms after kubectl apply"
    [ -n "$n1" ] && [ -n "$n2" ] || sleep 0.01
  done
  n1s+=("$n1") n2s+=("$n2") kubectls+=("$applied") both+=("$(( n1 > n2 ? n1 : n2 ))")
  log "rep $rep: kubectl apply of a CNP of $KUBE_RULES HTTP rules (kubectl $applied ms) -> in force on n1 $n1 ms, n2 $n2 ms"
done
sleep 5  # sampling window as above
rss2=("$(kb VmRSS "$PID1")" "$(kb VmRSS "$PID2")")
hwm=("$(kb VmHWM "$PID1")" "$(kb VmHWM "$PID2")")
for i in 0 1; do status "${SOCKS[$i]}" >"$OUT/status-end-n$((i + 1)).txt"; done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
{
  echo "kube (two-node sandbox): $KUBE_PODS pods (of a third node: remote on both, $KUBE_POLICIES label sets), $KUBE_POLICIES CNPs; sluice $(cd "$ROOT" && git rev-parse --short HEAD)"
  echo "API populated (one HTTPS client) in $populated ms, both agents watching"
  echo "first sync from the start of populating: $KUBE_POLICIES policies in force on both $policies_ms ms, every pod in both ipcaches $sync_ms ms; SluiceIdentity objects: $identities"
  for i in 0 1; do
    echo "agent n$((i + 1)): VmRSS steady after sync $(mib "${rss1[$i]}"); after $REPS big CNPs $(mib "${rss2[$i]}"); VmHWM (peak) $(mib "${hwm[$i]}")"
  done
  echo "kubectl apply -> in force, CNP of $KUBE_RULES HTTP rules: n1 ${n1s[*]} ms, n2 ${n2s[*]} ms, both ${both[*]} ms (median both $(median "${both[@]}") ms; kubectl itself ${kubectls[*]} ms)"
} | tee "$OUT/summary.txt"
