# The observer's sluice_* families that come from the agent rather than from flow records
# (issue 17): `sluice_dns_answer_to_datapath_seconds`, the agent's histogram of the time from an
# upstream DNS answer to its addresses in the datapath (the answer is held meanwhile), moves by
# exactly the answers the FQDN learner took; `sluice_policy_applies_total{result="error"}` counts
# applies the agent refused. Both are read from the agent's introspect answer at scrape time.
source "$(dirname "$0")/../lib.sh"
topo=$(mktemp --suffix .yaml)
bad=$(mktemp --suffix .yaml)
trap 'rm -f "$topo" "$bad"; cleanup' EXIT
cat >"$topo" <<'YAML'
namespaces:
  - name: production
    labels: {name: production}
pods:
  - name: my-service
    namespace: production
    labels: {app: my-service}
world:
  - name: api.example.com
    addresses: [192.0.2.10]
    servers: ["http-static:443"]
    ttl: 30
YAML
sandbox_up "$topo"
P=production/my-service
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
node_ns=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeNetns"])')
node_ip=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeIP"])')
metrics() { ip netns exec "$node_ns" curl -sf "http://$node_ip:9965/metrics"; }
# sample NAME: the value of one unlabelled sample (or labelled, NAME with its braces), 0 when absent.
sample() { metrics | awk -v n="$1" '$1 == n {v = $2} END {print (v == "" ? 0 : v)}'; }
# await_sample NAME WANT: polls /metrics (the observer reads the agent at most every 2 s).
await_sample() {
  local deadline=$((SECONDS + 20)) got
  while :; do
    got=$(sample "$1")
    [ "$got" = "$2" ] && break
    [ "$SECONDS" -ge "$deadline" ] && { metrics | grep '^sluice_' >&2; fail "$1: expected $2, got $got"; }
    sleep 0.5  # the observer's reading interval is 2 s; the deadline bounds this
  done
  echo "ok: $1 = $got"
}
wait_until "the observer's /metrics answers" metrics

step "a policy apply the agent refuses is counted as an error"
errors=$(sample 'sluice_policy_applies_total{result="error"}')
cat >"$bad" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: broken, namespace: production}
spec:
  endpointSelector: {matchLabels: {app: my-service}}
  egress:
    - toPorts: [{ports: [{port: "99999", protocol: TCP}]}]
YAML
if "$SLUICE" apply -f "$bad" >/dev/null 2>&1; then fail "the agent accepted port 99999"; fi
await_sample 'sluice_policy_applies_total{result="error"}' "$((errors + 1))"
apply "$ROOT/integration/policies/tofqdns-reference.yaml"
await_sample 'sluice_policy_applies_total{result="error"}' "$((errors + 1))"

step "each answer the FQDN learner takes is one DNS-answer-to-datapath observation"
count0=$(sample sluice_dns_answer_to_datapath_seconds_count)
k=5
for _ in $(seq "$k"); do
  expect_eq "dig api.example.com" 192.0.2.10 "$(pod $P dig +short +time=3 +tries=1 @"$DNS" api.example.com)"
done
await_sample sluice_dns_answer_to_datapath_seconds_count "$((count0 + k))"
await_sample 'sluice_dns_answer_to_datapath_seconds_bucket{le="+Inf"}' "$((count0 + k))"
metrics | grep '^sluice_dns_answer_to_datapath_seconds' | sed 's/^/  /'
sum=$(sample sluice_dns_answer_to_datapath_seconds_sum)
python3 -c 'import sys; s = float(sys.argv[1]); assert 0 < s < 5 * float(sys.argv[2]), s' "$sum" "$k" \
  || fail "the delays' sum $sum is not between 0 and 5 s per answer"
expect_eq "the address is reachable once its answer was released" 200 "$(CURL_TIMEOUT=5 http_code $P http://api.example.com:443/)"
check=$(metrics | promtool check metrics 2>&1) || fail "promtool check metrics failed: $check"
expect_eq "promtool check metrics" "" "$check"
