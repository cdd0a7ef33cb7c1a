# --policy-deny-response=icmp (Cilium 1.19, semantics 3.3): with the agent option, a pod whose
# egress policy denies a connection gets ICMP destination unreachable (packet filtered) at once,
# so curl fails fast ("couldn't connect", exit 7) instead of timing out (exit 28); the drop is
# still recorded (DROPPED, POLICY_DENIED). Ingress denies stay silent drops (Cilium #41859).
source "$(dirname "$0")/../lib.sh"
"$SLUICE" sandbox up "$TOPO" --policy-deny-response icmp
policy=$(mktemp --suffix .yaml)
cat > "$policy" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-ingress, namespace: backend}
spec:
  podSelector: {}
  policyTypes: [Ingress]
YAML
apply "$policy"
rm -f "$policy"
backend_ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')

# curl_exit POD URL: "exit-code seconds" of one curl with a 5 s limit.
curl_exit() {
  local start end code=0
  start=$(date +%s%N)
  pod "$1" curl -s -o /dev/null -m 5 "$2" || code=$?
  end=$(date +%s%N)
  echo "$code $(( (end - start) / 1000000 ))"
}

step "egress deny: ICMP unreachable, curl fails at once"
read -r code ms <<<"$(curl_exit default/client "http://$backend_ip/get")"
echo "curl exit $code after $ms ms"
expect_eq "curl exit code (couldn't connect)" 7 "$code"
[ "$ms" -lt 2000 ] || fail "curl took $ms ms: the ICMP answer did not come"
echo "ok: failed fast ($ms ms)"
err=$(expect_status "curl (couldn't connect)" 7 pod default/client bash -c 'curl -sS -o /dev/null -m 5 "$0" 2>&1' "http://$backend_ip/get")
expect_contains "curl error" "Failed to connect to $backend_ip port 80" "$err"
n=$(await_flows 2 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="EGRESS" and f["source"].get("pod_name")=="client" and f["l4"]["TCP"]["destination_port"]==80')
[ "$n" -ge 2 ] || fail "expected the EGRESS drops to be recorded, got $n"
echo "ok: $n EGRESS drop flows"

step "ingress deny: still a silent drop (curl times out)"
read -r code ms <<<"$(curl_exit frontend/frontend "http://$backend_ip/get")"
echo "curl exit $code after $ms ms"
expect_eq "curl exit code (timeout)" 28 "$code"

step "UDP: dig fails at once too"
start=$(date +%s%N)
out=$(expect_status "dig (no server answered)" 9 pod default/client bash -c 'dig +time=3 +tries=1 @"$0" example.com 2>&1' "$backend_ip")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out" | tail -n 3
[ "$ms" -lt 2500 ] || fail "dig took $ms ms"
echo "ok: dig gave up after $ms ms"

step "the agent restarted without the option: silent drops again"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent
read -r code ms <<<"$(curl_exit default/client "http://$backend_ip/get")"
echo "curl exit $code after $ms ms"
expect_eq "curl exit code (timeout)" 28 "$code"
step "and with it again: ICMP"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent --policy-deny-response icmp
read -r code ms <<<"$(curl_exit default/client "http://$backend_ip/get")"
expect_eq "curl exit code (couldn't connect)" 7 "$code"
