# Helpers of the two-node scenarios (90_kube_*.sh; sourced after ../lib.sh, not a scenario: run.sh
# only runs *.sh). The sandbox: proxy-config/sandbox/two-node.yaml — n1 holds shop/frontend
# (role=frontend) and shop/intruder, n2 holds shop/backend (httpbin on 80, tcp on 6379).
TWO_NODE="$ROOT/proxy-config/sandbox/two-node.yaml"
KUBECONFIG=/run/sluice/sandbox/kubeconfig
export KUBECONFIG
N1_SOCK=/run/sluice/agent.sock
N2_SOCK=/run/sluice/nodes/n2/agent.sock
BACKEND_IP=10.244.2.10
KUBECTL=$(command -v kubectl || true)
[ -n "$KUBECTL" ] || fail "kubectl is missing (apt-get install kubernetes-client; make deps): cannot run"

# kube_up [sandbox up options...]: the two-node sandbox (90_kube_local_pods passes
# --agent-arg=--endpoints-from=kubernetes: both agents take their pods from the API). With
# SLUICE_ENDPOINTS_FROM=kubernetes in the environment every 90_kube_* scenario runs that way.
kube_up() {
  "$SLUICE" sandbox up "$TWO_NODE" ${SLUICE_ENDPOINTS_FROM:+"--agent-arg=--endpoints-from=$SLUICE_ENDPOINTS_FROM"} "$@"
  [ -s "$KUBECONFIG" ] || fail "sandbox up wrote no $KUBECONFIG"
  CONTROL=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["kubeAPI"]["control"])')
}

kctl() { "$KUBECTL" --kubeconfig "$KUBECONFIG" --request-timeout=5s "$@"; }

# fake CONTROL-PATH: POST to the fake API server's control port (/expire, /stop, /start).
fake() { curl -sf -X POST "$CONTROL$1" >/dev/null || fail "fake API control $1 failed"; }

# in_force SOCKET NAME: the agent behind SOCKET has policy NAME in force.
in_force() { "$SLUICE" policy get --socket "$1" 2>/dev/null | grep -q -- "$2"; }

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# await_both NAME: polls both agents (deadline WAIT_SECONDS) until NAME is in force on each;
# prints the milliseconds from the call to the moment both had it.
await_both() {
  local start=$1 name=$2 deadline=$((SECONDS + ${WAIT_SECONDS:-10})) n1="" n2=""
  while [ -z "$n1" ] || [ -z "$n2" ]; do
    [ -n "$n1" ] || { in_force "$N1_SOCK" "$name" && n1=$(($(now_ms) - start)); } || true
    [ -n "$n2" ] || { in_force "$N2_SOCK" "$name" && n2=$(($(now_ms) - start)); } || true
    if [ -z "$n1" ] || [ -z "$n2" ]; then
      [ "$SECONDS" -lt "$deadline" ] || fail "policy $name: n1 ${n1:-never}, n2 ${n2:-never} ms after apply (${WAIT_SECONDS:-10} s)"
      sleep 0.02
    fi
  done
  echo "$((n1 > n2 ? n1 : n2))"
}

# The policies of the scenarios: backend (n2) admits GET /get on 80 from role=frontend only;
# frontend (n1) may send to backend on port 80 only.
write_policies() {
  cat >"$1" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: backend-from-frontend
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: backend}
  ingress:
    - fromEndpoints:
        - matchLabels: {role: frontend}
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
          rules:
            http: [{method: GET, path: "/get"}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-to-backend
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {role: frontend}
  egress:
    - toEndpoints:
        - matchLabels: {app: backend}
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
YAML
}

# The enforcement the policies above give, checked request by request: prints nothing and
# fails on the first difference.
expect_enforced() {
  expect_eq "frontend (n1) GET /get on backend (n2)" 200 "$(http_code shop/frontend "http://$BACKEND_IP/get")"
  expect_eq "frontend (n1) POST /post on backend (n2): L7 deny at n2" 403 \
    "$(http_code shop/frontend -X POST "http://$BACKEND_IP/post")"
  expect_eq "intruder (n1) to backend (n2): dropped" "000 (curl exit 28)" \
    "$(CURL_TIMEOUT=2 http_code shop/intruder "http://$BACKEND_IP/get")"
  # Only n1 can drop this one (the world host is behind n1, no policy of n2 is on the path).
  expect_eq "frontend (n1) to the world host: dropped by n1's egress policy" "000 (curl exit 28)" \
    "$(CURL_TIMEOUT=2 http_code shop/frontend http://192.0.2.10/)"
}
