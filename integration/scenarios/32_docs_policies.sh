# The policies of the homelab docs (../shared/seeds/docs-cilium-network-policies.txt; files in
# proxy-config/examples/homelab/), the NetworkPolicy and L7 examples of the Cilium reference
# (../shared/seeds/reference-cilium-l7-dns-hubble.txt; proxy-config/examples/reference/), and
# one example per selector kind the issue lists (proxy-config/examples/l3l4/: entities world,
# cluster, host, all, kube-apiserver; CIDR with except; endPort; named ports; NetworkPolicy
# namespaceSelector AND podSelector, ipBlock except, policyTypes), each with a real client check
# of what it allows and what it denies. Topology: proxy-config/sandbox/docs.yaml.
# Notes where a doc and Cilium differ:
# - allow-get-only (homelab) has no namespace: kubectl puts it in `default`, so does Sluice.
# - allow-monitoring-scrape is named but not shown in the homelab docs; the file is the usual
#   form (one peer with namespaceSelector AND podSelector, named port `metrics`).
# - allow-external-dns (reference) selects my-service for egress but has no DNS rule, so no IP is
#   ever learned (semantics 1.8) and, egress being default deny, not even DNS works for it.
# - homelab/allow-dns-egress.yaml is the DOKS tutorial's tenant DNS egress policy
#   (tutorial/allow-dns-egress.yaml) in namespace default instead of tenant-a: its check below
#   (UDP 53 to kube-system passes, TCP 53 and everything else is dropped) covers both.
# - The reference's Kafka rules are Cilium beta/deprecated; Sluice rejects them (no Kafka proxy).
source "$(dirname "$0")/../lib.sh"
sandbox_up "$ROOT/proxy-config/sandbox/docs.yaml"
HOMELAB="$ROOT/proxy-config/examples/homelab"
REF="$ROOT/proxy-config/examples/reference"
L34="$ROOT/proxy-config/examples/l3l4"
export CURL_TIMEOUT=3 NC_TIMEOUT=2
ip_of() { python3 -c 'import json, sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["namespace"] + "/" + e["pod"] == sys.argv[1]][0])' "$1"; }
# nc_z and dig_short are lib.sh's. world_code SOURCE-IP URL: as http_code, from the world
# namespace with SOURCE-IP.
world_code() {
  local code rc
  code=$(ip netns exec sluice-world curl -s -o /dev/null -m "$CURL_TIMEOUT" --interface "$1" -w '%{http_code}' "$2") && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then echo "$code"; else echo "${code:-000} (curl exit $rc)"; fi
}
WEB=http://web.default.svc.cluster.local
MYAPI=http://my-api.default.svc.cluster.local:8080
METRICS=http://my-api.default.svc.cluster.local:9100
BACKEND=http://backend.production.svc.cluster.local
SERVICE=http://my-service.production.svc.cluster.local:8080
PAPI=http://api.production.svc.cluster.local:8080
NODE=http://10.244.0.1:8099
IN=http://192.0.2.10
OUT=http://192.0.2.200

step "homelab: baseline"
expect_eq "client -> web" 200 "$(http_code default/client $WEB/)"
expect_eq "client -> my-api /get" 200 "$(http_code default/client $MYAPI/get)"

step "homelab default-deny-ingress (namespace default)"
apply "$HOMELAB/default-deny-ingress.yaml"
expect_eq "client -> web" "000 (curl exit 28)" "$(http_code default/client $WEB/)"
expect_eq "production/frontend -> my-api" "000 (curl exit 28)" "$(http_code production/frontend $MYAPI/get)"
expect_eq "node -> web (allow-localhost)" 200 \
  "$(ip netns exec sluice-node curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$(ip_of default/web)/")"

step "homelab allow-get-only (CNP, no peer: every peer on 8080, GET only)"
apply "$HOMELAB/allow-get-only.yaml"
expect_eq "client GET my-api /get" 200 "$(http_code default/client $MYAPI/get)"
expect_eq "client POST my-api /post" 403 "$(http_code default/client -X POST $MYAPI/post)"
expect_eq "production/frontend GET my-api /get" 200 "$(http_code production/frontend $MYAPI/get)"
expect_eq "client -> my-api:9100 (not in the policy)" "000 (curl exit 28)" "$(http_code default/client $METRICS/)"

step "homelab allow-monitoring-scrape (namespaceSelector AND podSelector, named port metrics)"
apply "$HOMELAB/allow-monitoring-scrape.yaml"
expect_eq "monitoring/prometheus -> my-api:metrics" 200 "$(http_code monitoring/prometheus $METRICS/)"
expect_eq "monitoring/grafana -> my-api:metrics (not prometheus)" "000 (curl exit 28)" "$(http_code monitoring/grafana $METRICS/)"
expect_eq "staging/prometheus -> my-api:metrics (not namespace monitoring)" "000 (curl exit 28)" "$(http_code staging/prometheus $METRICS/)"
expect_eq "monitoring/prometheus -> web:80 (web has no port named metrics)" "000 (curl exit 28)" "$(http_code monitoring/prometheus $WEB/)"

step "homelab allow-dns-egress (namespace default: egress default deny but UDP 53 to kube-system)"
apply "$HOMELAB/allow-dns-egress.yaml"
expect_eq "client dig web (UDP)" "$(ip_of default/web)" "$(dig_short default/client web.default.svc.cluster.local)"
expect_contains "client dig +tcp web (TCP 53 not allowed)" "timed out" "$(dig_short default/client +tcp web.default.svc.cluster.local)"
expect_eq "client -> production/backend (egress now default deny)" "000 (curl exit 28)" "$(http_code default/client $BACKEND:8080/)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="EGRESS" and f["source"].get("pod_name")=="client" and f["destination"].get("pod_name")=="backend"')
[ "$n" -ge 1 ] || fail "no EGRESS drop client -> backend"
echo "ok: $n EGRESS drops client -> production/backend"
n=$(count_flows 'f["verdict"]=="DROPPED" and f.get("traffic_direction")=="INGRESS" and f["source"].get("pod_name")=="grafana" and f["l4"]["TCP"]["destination_port"]==9100')
[ "$n" -ge 1 ] || fail "no INGRESS drop grafana -> my-api:9100"
echo "ok: $n INGRESS drops grafana -> my-api:9100"

step "reference: NetworkPolicy examples (namespace production)"
expect_eq "other -> backend:8080 before" 200 "$(http_code production/other $BACKEND:8080/)"
apply "$REF/network-policies.yaml"
expect_eq "frontend -> backend:8080" 200 "$(http_code production/frontend $BACKEND:8080/)"
expect_eq "other -> backend:8080" "000 (curl exit 28)" "$(http_code production/other $BACKEND:8080/)"
expect_eq "frontend -> backend:9000 (port not allowed)" "000 (curl exit 28)" "$(http_code production/frontend $BACKEND:9000/)"
expect_eq "monitoring/prometheus -> my-service:8080" 200 "$(http_code monitoring/prometheus $SERVICE/)"
expect_eq "monitoring/grafana -> my-service:8080 (whole namespace)" 200 "$(http_code monitoring/grafana $SERVICE/)"
expect_eq "staging/prometheus -> my-service:8080" "000 (curl exit 28)" "$(http_code staging/prometheus $SERVICE/)"
expect_eq "frontend -> my-service:8080" "000 (curl exit 28)" "$(http_code production/frontend $SERVICE/)"

step "reference allow-get-api-only (L7: GET /api/.*, POST /api/v1/users from role=frontend)"
apply "$REF/allow-get-api-only.yaml"
expect_eq "frontend GET /api/items (allowed; httpbin has no such path)" 404 "$(http_code production/frontend $PAPI/api/items)"
expect_eq "frontend POST /api/v1/users (allowed)" 404 "$(http_code production/frontend -X POST $PAPI/api/v1/users)"
expect_eq "frontend GET /get" 403 "$(http_code production/frontend $PAPI/get)"
expect_eq "frontend DELETE /api/v1/users" 403 "$(http_code production/frontend -X DELETE $PAPI/api/v1/users)"
expect_eq "other GET /api/items (not frontend: dropped at L3/L4)" "000 (curl exit 28)" "$(http_code production/other $PAPI/api/items)"

step "NetworkPolicy: two peers are an OR (any monitoring pod, or a local prometheus)"
apply "$L34/knp-namespace-or-pod.yaml"
expect_eq "monitoring/grafana -> backend:9000" 200 "$(http_code monitoring/grafana $BACKEND:9000/)"
expect_eq "monitoring/prometheus -> backend:9000" 200 "$(http_code monitoring/prometheus $BACKEND:9000/)"
expect_eq "staging/prometheus -> backend:9000" "000 (curl exit 28)" "$(http_code staging/prometheus $BACKEND:9000/)"
expect_eq "monitoring/grafana -> backend:8080 (other port)" "000 (curl exit 28)" "$(http_code monitoring/grafana $BACKEND:8080/)"

step "reference allow-external-dns (toFQDNs without a DNS rule learns nothing)"
out=$(apply "$REF/allow-external-dns.yaml")
expect_contains "apply" "ciliumnetworkpolicy.cilium.io/allow-external-dns created" "$out"
expect_contains "my-service dig (egress default deny, no DNS allowance)" "timed out" \
  "$(dig_short production/my-service api.example.com)"

step "reference Kafka rules are rejected"
kafka=$(mktemp --suffix .yaml)
cat > "$kafka" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: kafka, namespace: production}
spec:
  endpointSelector: {matchLabels: {app: my-service}}
  egress:
  - toPorts:
    - ports: [{port: "9092"}]
      rules:
        kafka:
        - {role: produce, topic: orders}
YAML
err=$(expect_status "kafka apply refused" 1 bash -c '"$0" apply -f "$1" 2>&1' "$SLUICE" "$kafka")
rm -f "$kafka"
expect_contains "kafka apply" '"kafka" rules are not supported by Sluice' "$err"

step "entities: world, cluster, host, all, kube-apiserver (lab/to-*)"
# The pod target is lab/egress-only (no ingress policy); default/web is ingress default-deny now.
EO="http://$(ip_of lab/egress-only)"
ip netns exec sluice-node python3 -m http.server 8099 --bind 10.244.0.1 >/dev/null 2>&1 &
node_server=$!
# Cleanup path: the server may have exited already, so kill's status is not checked.
trap 'kill $node_server 2>/dev/null || true; cleanup' EXIT
wait_until "the node's http.server answers" ip netns exec sluice-node curl -s -o /dev/null -m 1 $NODE/
apply "$L34/to-entities.yaml"
expect_eq "to-world -> in.example.com" 200 "$(http_code lab/to-world $IN/)"
expect_eq "to-world -> egress-only (a pod)" "000 (curl exit 28)" "$(http_code lab/to-world $EO/)"
expect_eq "to-world -> node" "000 (curl exit 28)" "$(http_code lab/to-world $NODE/)"
expect_eq "to-cluster -> egress-only" 200 "$(http_code lab/to-cluster $EO/)"
expect_eq "to-cluster -> node (host is in cluster)" 200 "$(http_code lab/to-cluster $NODE/)"
expect_eq "to-cluster -> in.example.com" "000 (curl exit 28)" "$(http_code lab/to-cluster $IN/)"
expect_eq "to-host -> node" 200 "$(http_code lab/to-host $NODE/)"
expect_eq "to-host -> egress-only" "000 (curl exit 28)" "$(http_code lab/to-host $EO/)"
expect_eq "to-host -> in.example.com" "000 (curl exit 28)" "$(http_code lab/to-host $IN/)"
expect_eq "to-all -> egress-only" 200 "$(http_code lab/to-all $EO/)"
expect_eq "to-all -> in.example.com" 200 "$(http_code lab/to-all $IN/)"
expect_eq "to-all -> node" 200 "$(http_code lab/to-all $NODE/)"
expect_eq "to-apiserver -> kube-apiserver:443" succeeded "$(nc_z lab/to-apiserver 10.96.0.1 443)"
expect_eq "to-apiserver -> in.example.com:80" "000 (curl exit 28)" "$(http_code lab/to-apiserver $IN/)"
expect_eq "to-apiserver -> egress-only" "000 (curl exit 28)" "$(http_code lab/to-apiserver $EO/)"
echo "ok: drop to-apiserver -> in.example.com names world (2): $(await_flows 1 'f["verdict"]=="DROPPED" and f["source"].get("pod_name")=="to-apiserver" and f["IP"]["destination"]=="192.0.2.10" and f["destination"].get("identity")==2 and f["l4"]["TCP"].get("flags",{}).get("SYN") is True') flow(s)"
echo "ok: drop to-world -> node names host (1): $(await_flows 1 'f["verdict"]=="DROPPED" and f["source"].get("pod_name")=="to-world" and f["IP"]["destination"]=="10.244.0.1" and f["destination"].get("identity")==1') flow(s)"

step "toCIDRSet with except; toCIDR over the pod network selects no pod"
apply "$L34/to-cidr-except.yaml"
expect_eq "to-cidr -> 192.0.2.10:80" 200 "$(http_code lab/to-cidr $IN/)"
expect_eq "to-cidr -> 192.0.2.200:80 (except)" "000 (curl exit 28)" "$(http_code lab/to-cidr $OUT/)"
expect_eq "to-cidr -> egress-only (inside 10.244.0.0/16, but a pod)" "000 (curl exit 28)" "$(http_code lab/to-cidr $EO/)"
expect_eq "to-cidr -> 192.0.2.10:8000 (port not allowed)" failed "$(nc_z lab/to-cidr 192.0.2.10 8000)"

step "endPort range 8000-8001"
apply "$L34/to-port-range.yaml"
expect_eq "to-range -> 8000" succeeded "$(nc_z lab/to-range 192.0.2.10 8000)"
expect_eq "to-range -> 8001" succeeded "$(nc_z lab/to-range 192.0.2.10 8001)"
expect_eq "to-range -> 8002" failed "$(nc_z lab/to-range 192.0.2.10 8002)"
expect_eq "to-range -> 80" "000 (curl exit 28)" "$(http_code lab/to-range $IN/)"

step "named port on egress (egress-only: http = 80)"
apply "$L34/to-named-port.yaml"
expect_eq "to-named -> egress-only:80" 200 "$(http_code lab/to-named $EO/)"
expect_eq "to-named -> my-api:8080 (its http port, but not selected)" "000 (curl exit 28)" "$(http_code lab/to-named $MYAPI/get)"

step "NetworkPolicy ipBlock with except"
IPB="http://$(ip_of lab/ipblock)"
expect_eq "192.0.2.200 -> ipblock before" 200 "$(world_code 192.0.2.200 $IPB/)"
apply "$L34/knp-ipblock-except.yaml"
expect_eq "192.0.2.10 -> ipblock:80" 200 "$(world_code 192.0.2.10 $IPB/)"
expect_eq "192.0.2.200 -> ipblock:80 (except)" "000 (curl exit 28)" "$(world_code 192.0.2.200 $IPB/)"
expect_eq "to-all (a pod) -> ipblock:80 (ipBlock never selects pods)" "000 (curl exit 28)" "$(http_code lab/to-all $IPB/)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("traffic_direction")=="INGRESS" and f["IP"]["source"]=="192.0.2.200" and f["destination"].get("pod_name")=="ipblock"')
[ "$n" -ge 1 ] || fail "no INGRESS drop 192.0.2.200 -> ipblock"
echo "ok: $n INGRESS drops from 192.0.2.200"

step "NetworkPolicy policyTypes [Egress] without rules"
apply "$L34/knp-policy-types.yaml"
expect_eq "egress-only -> in.example.com" "000 (curl exit 28)" "$(http_code lab/egress-only $IN/)"
expect_eq "egress-only -> to-all's peer lab/ipblock:80 (egress)" "000 (curl exit 28)" "$(http_code lab/egress-only $IPB/)"
n=$(await_flows 2 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="EGRESS" and f["source"].get("pod_name")=="egress-only"')
[ "$n" -ge 2 ] || fail "expected 2 EGRESS drops from egress-only, got $n"
echo "ok: $n EGRESS drops from egress-only"
expect_eq "to-all -> egress-only (ingress not selected; the reply passes)" 200 "$(http_code lab/to-all $EO/)"
