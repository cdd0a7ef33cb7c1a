# The DigitalOcean tutorial's tenant DNS egress policy (networking.k8s.io/v1 NetworkPolicy
# allow-dns-egress in tenant-a: egress only to namespace kube-system on UDP 53): tenant pods
# still resolve over UDP, but DNS over TCP and every other egress (another tenant, world) are
# dropped in the datapath with POLICY_DENIED; tenant-b, which no policy selects, is untouched.
source "$(dirname "$0")/../lib.sh"
topo=$(mktemp --suffix .yaml)
trap 'rm -f "$topo"; cleanup' EXIT
cat > "$topo" <<'YAML'
namespaces:
  - name: tenant-a
    labels: {tenant: a}
  - name: tenant-b
    labels: {tenant: b}
pods:
  - name: app
    namespace: tenant-a
    labels: {app: web}
  - name: app
    namespace: tenant-b
    labels: {app: web}
    servers: ["http-static:80"]
world:
  - name: registry.example.com
    addresses: [192.0.2.50]
    servers: ["http-static:80"]
YAML
sandbox_up "$topo"
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
B=http://app.tenant-b.svc.cluster.local
resolve() { dig_short "$@"; }  # lib.sh: the answer, dig's timeout line, or "dig exit N: ..."

step "before the policy: DNS over UDP and TCP, tenant-b and world reachable"
expect_eq "tenant-a UDP" 192.0.2.50 "$(resolve tenant-a/app @"$DNS" registry.example.com)"
expect_eq "tenant-a TCP" 192.0.2.50 "$(resolve tenant-a/app +tcp @"$DNS" registry.example.com)"
expect_eq "tenant-a -> tenant-b:80" 200 "$(http_code tenant-a/app $B/)"
expect_eq "tenant-a -> world:80" 200 "$(http_code tenant-a/app http://192.0.2.50/)"

apply "$ROOT/proxy-config/examples/tutorial/allow-dns-egress.yaml"
step "after allow-dns-egress: only UDP 53 to kube-system leaves tenant-a"
expect_eq "tenant-a UDP" 192.0.2.50 "$(resolve tenant-a/app @"$DNS" registry.example.com)"
expect_contains "tenant-a TCP (not allowed)" "timed out" "$(resolve tenant-a/app +tcp @"$DNS" registry.example.com)"
expect_eq "tenant-a -> tenant-b:80" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code tenant-a/app $B/)"
expect_eq "tenant-a -> world:80" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code tenant-a/app http://192.0.2.50/)"
expect_eq "tenant-b (not selected) -> world:80" 200 "$(http_code tenant-b/app http://192.0.2.50/)"
expect_eq "tenant-b TCP DNS" 192.0.2.50 "$(resolve tenant-b/app +tcp @"$DNS" registry.example.com)"
egress_drop() {
  echo "f['verdict']=='DROPPED' and f.get('drop_reason_desc')=='POLICY_DENIED' and f.get('traffic_direction')=='EGRESS' and f['source'].get('namespace')=='tenant-a' and $1"
}
tcp53_drop=$(egress_drop "f['l4'].get('TCP',{}).get('destination_port')==53")
await_flows 1 "$tcp53_drop" >/dev/null || fail "no POLICY_DENIED flow for tenant-a's DNS over TCP"
await_flows 1 "$(egress_drop "f['destination'].get('namespace')=='tenant-b'")" >/dev/null || fail "no POLICY_DENIED flow tenant-a -> tenant-b"
await_flows 1 "$(egress_drop "f.get('IP',{}).get('destination')=='192.0.2.50'")" >/dev/null || fail "no POLICY_DENIED flow tenant-a -> world"
echo "ok: POLICY_DENIED egress flows for TCP/53, tenant-b and world"
# The control: the TCP/53 drop of the same client, written by the datapath as it happened.
expect_absent "no drop flow for UDP 53" "$(egress_drop "'UDP' in f['l4']")" "$tcp53_drop"
