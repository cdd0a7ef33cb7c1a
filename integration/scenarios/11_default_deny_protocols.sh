# Default deny covers ICMP (issue 12): a real `ping` from frontend to backend works with no
# policy; under default deny on both sides (frontend's egress, backend's ingress) it is dropped,
# with DROPPED flows POLICY_DENIED (133) that `sluice observe` prints as Hubble does
# (`Policy denied DROPPED (ICMPv4 EchoRequest)`); an `icmps` rule on one side is not enough, on
# both sides the echo goes through and the reply passes by connection tracking; an `icmps`
# egressDeny drops it again with POLICY_DENY (181). Every negative check waits for its flow.
source "$(dirname "$0")/../lib.sh"
sandbox_up
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
backend_ip=$(ip_of backend)
frontend_ip=$(ip_of frontend)
policy=$(mktemp -d)
trap 'rm -rf "$policy"; cleanup' EXIT

# ping_ok: one echo from frontend to backend answered within 2 s.
ping_ok() { pod frontend/frontend ping -n -c 1 -W 2 "$backend_ip" >/dev/null 2>&1; }

# wait_flow WHAT EXPR: polls (10 s) until a flow matches EXPR; prints its compact line.
wait_flow() {
  local n
  n=$(await_flows 1 "$2") || fail "$1: no flow matches [$2]"
  echo "ok: $1 ($n flows)"
}

echo_from_frontend="f.get('l4',{}).get('ICMPv4',{}).get('type')==8 and f.get('IP',{}).get('source')=='$frontend_ip' and f.get('IP',{}).get('destination')=='$backend_ip' and f['source'].get('pod_name')=='frontend' and f['destination'].get('pod_name')=='backend' and f['source'].get('identity',0)>=256 and f['destination'].get('identity',0)>=256"

step "no policy: ping answers"
ping_ok || fail "ping frontend -> backend without policy"
echo "ok: ping frontend -> backend"

step "default deny: frontend's egress and backend's ingress"
cat >"$policy/deny.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: frontend}
spec:
  podSelector: {}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: backend}
spec:
  podSelector: {}
  policyTypes: [Ingress]
YAML
apply "$policy/deny.yaml"
if ping_ok; then fail "ping passed under default deny"; fi
echo "ok: ping frontend -> backend dropped"
wait_flow "DROPPED POLICY_DENIED EGRESS echo request" \
  "f['verdict']=='DROPPED' and f.get('drop_reason_desc')=='POLICY_DENIED' and f.get('traffic_direction')=='EGRESS' and $echo_from_frontend and f.get('Summary')=='ICMPv4 EchoRequest'"
compact=$("$SLUICE" observe --verdict DROPPED --protocol icmpv4 --last 1)
echo "$compact"
expect_contains "compact" "frontend/frontend (ID:" "$compact"
expect_contains "compact" "backend/backend (ID:" "$compact"
expect_contains "compact" "Policy denied DROPPED (ICMPv4 EchoRequest)" "$compact"

step "icmps EchoRequest on frontend's egress only: backend's ingress still denies"
cat >"$policy/ping-out.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ping-out, namespace: frontend}
spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
    icmps:
    - fields:
      - {type: EchoRequest, family: IPv4}
YAML
apply "$policy/ping-out.yaml"
if ping_ok; then fail "ping passed with backend's ingress default deny"; fi
wait_flow "DROPPED POLICY_DENIED INGRESS echo request" \
  "f['verdict']=='DROPPED' and f.get('drop_reason_desc')=='POLICY_DENIED' and f.get('traffic_direction')=='INGRESS' and $echo_from_frontend"

step "icmps on backend's ingress too: the echo passes, the reply by conntrack"
cat >"$policy/ping-in.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ping-in, namespace: backend}
spec:
  endpointSelector: {}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
    icmps:
    - fields:
      - {type: 8}
YAML
apply "$policy/ping-in.yaml"
ping_ok || fail "ping frontend -> backend with icmps rules on both sides"
echo "ok: ping frontend -> backend answered"
step "backend pings frontend: no policy in its way, and the reply passes frontend's egress default deny as a reply"
pod backend/backend ping -n -c 1 -W 2 "$frontend_ip" >/dev/null || fail "backend -> frontend ping (no policy in the way)"
echo "ok: backend -> frontend answered"

step "an icmps egressDeny wins over the allow: POLICY_DENY (181)"
cat >"$policy/no-ping.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-ping, namespace: frontend}
spec:
  endpointSelector: {}
  egressDeny:
  - icmps:
    - fields:
      - {type: EchoRequest}
YAML
apply "$policy/no-ping.yaml"
if ping_ok; then fail "ping passed despite the icmps egressDeny"; fi
wait_flow "DROPPED POLICY_DENY echo request" \
  "f['verdict']=='DROPPED' and f.get('drop_reason_desc')=='POLICY_DENY' and f.get('traffic_direction')=='EGRESS' and $echo_from_frontend"
json=$(flows_json --verdict DROPPED --protocol icmpv4 | tail -n 1)
echo "$json"
expect_contains "json l4" '"l4":{"ICMPv4":{"type":8}}' "$json"
expect_contains "json reason" '"drop_reason_desc":"POLICY_DENY"' "$json"
