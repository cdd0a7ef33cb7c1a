# Both sides' L7 rules on one connection (issue 12): the client's egress puts port 80 through the
# proxy for visibility (`http: [{}]`), the server's ingress allows only GET /status/200. Cilium
# sends such a connection through both proxies; Sluice decides both sides in one pass: a request
# passes only when both allow it. Denied requests get Envoy's 403 and an ingress-direction DROPPED
# flow naming the ingress policy; allowed ones one flow per side. The proxy's upstream connection
# carries the client's identity, so the server's L3/L4 ingress policy sees the client, not the node.
source "$(dirname "$0")/../lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"; cleanup' EXIT
cat > "$dir/topology.yaml" <<'YAML'
namespaces:
  - name: frontend
  - name: backend
pods:
  - name: client
    namespace: frontend
    labels: {app: client}
  - name: other
    namespace: frontend
    labels: {app: other}
  - name: api
    namespace: backend
    labels: {app: api}
    servers: ["httpbin:80"]
YAML
cat > "$dir/policy.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-visibility, namespace: frontend}
spec:
  endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: backend, app: api}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-ingress, namespace: backend}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend, app: client}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          path: /status/200
YAML
sandbox_up "$dir/topology.yaml"
api=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "api"][0])')
C=frontend/client
expect_eq "before any policy: GET /status/418" 418 "$(http_code $C http://$api/status/418)"
apply "$dir/policy.yaml"

step "allowed by both sides: GET /status/200"
expect_eq "GET /status/200" 200 "$(http_code $C http://$api/status/200)"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["traffic_direction"]=="EGRESS" and http["url"].endswith("/status/200") and pol(f,"egress_allowed_by")=="client-visibility"' >/dev/null
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["traffic_direction"]=="INGRESS" and http["url"].endswith("/status/200") and pol(f,"ingress_allowed_by")=="api-ingress" and f["ingress_allowed_by"][0]["namespace"]=="backend"' >/dev/null
await_flows 2 'l7.get("type")=="RESPONSE" and http.get("code")==200 and http["url"].endswith("/status/200")' >/dev/null
echo "ok: one request flow per side (egress, ingress), each naming its policy; a response flow per side"
n=$(count_flows 'l7.get("type")=="REQUEST" and http["url"].endswith("/status/200") and f["source"].get("pod_name","")=="client" and f["destination"].get("pod_name","")=="api" and f["source"].get("ID",0)>0 and f["destination"].get("ID",0)>0')
[ "$n" -ge 2 ] || fail "request flows without both endpoints: $n"
echo "ok: both endpoints on the request flows"

step "the ingress side denies what the egress side allows: GET /status/418, POST /post"
out=$(pod $C curl -s -m 5 -w '\n%{http_code}' http://$api/status/418)
expect_eq "GET /status/418 status" 403 "$(echo "$out" | tail -1)"
expect_eq "GET /status/418 body" "Access denied" "$(echo "$out" | head -1 | tr -d '\r')"
out=$(pod $C curl -s -m 5 -w '\n%{http_code}' -X POST -d x=1 http://$api/post)
expect_eq "POST /post status" 403 "$(echo "$out" | tail -1)"
expect_eq "POST /post body" "Access denied" "$(echo "$out" | head -1 | tr -d '\r')"
for what in 'http["method"]=="GET" and http["url"].endswith("/status/418")' 'http["method"]=="POST" and http["url"].endswith("/post")'; do
  await_flows 1 "l7.get(\"type\")==\"REQUEST\" and f[\"verdict\"]==\"DROPPED\" and f[\"traffic_direction\"]==\"INGRESS\" and pol(f,\"ingress_denied_by\")==\"api-ingress\" and $what" >/dev/null
  await_flows 1 "l7.get(\"type\")==\"REQUEST\" and f[\"verdict\"]==\"FORWARDED\" and f[\"traffic_direction\"]==\"EGRESS\" and $what" >/dev/null
  # The control: the egress side's FORWARDED flow of the same request.
  expect_absent "no egress denial for: $what" "f[\"verdict\"]==\"DROPPED\" and f[\"traffic_direction\"]==\"EGRESS\" and $what" \
    "l7.get(\"type\")==\"REQUEST\" and f[\"verdict\"]==\"FORWARDED\" and f[\"traffic_direction\"]==\"EGRESS\" and $what"
done
echo "ok: the DROPPED request flows are INGRESS and name api-ingress; the egress side forwarded"

step "the proxy's upstream carries the client's identity: the server's policy sees the client"
# The api pod admits only app=client. Another pod gets no further than L3/L4, while the client's
# proxied connection (leaving the node with the client's identity in its mark) is admitted.
expect_eq "frontend/other -> api:80 (not admitted)" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code frontend/other http://$api/status/200)"
await_flows 1 'f["verdict"]=="DROPPED" and f.get("Type")=="L3_L4" and f["traffic_direction"]=="INGRESS" and f["source"].get("pod_name","")=="other" and f["destination"].get("pod_name","")=="api"' >/dev/null
expect_eq "client, proxied on both sides, again" 200 "$(http_code $C http://$api/status/200)"
# The control: the L3/L4 drop of the other pod toward api, the flow this check would see.
expect_absent "no L3/L4 drop of the proxy's upstream (identity in the mark)" \
  'f["verdict"]=="DROPPED" and f.get("Type")=="L3_L4" and f["destination"].get("pod_name","")=="api" and f["source"].get("pod_name","")!="other"' \
  'f["verdict"]=="DROPPED" and f.get("Type")=="L3_L4" and f["destination"].get("pod_name","")=="api" and f["source"].get("pod_name","")=="other"'

step "compact output"
compact=$("$SLUICE" observe -t l7 --last 100)
expect_contains "compact ingress denial" "http-request DROPPED (HTTP/1.1 POST http://$api/post)" "$compact"
