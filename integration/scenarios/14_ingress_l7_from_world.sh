# Ingress L7 rules apply to clients that are not local pods (issue 12): a host of the sandbox's
# world and the node itself (curl in the node namespace: the host identity) reach a pod whose
# ingress has HTTP rules. tc sees their packets on the pod's veth after routing and hairpins them
# into the proxy (bpf/lib/steer.h); the proxy decides with the client's identity (world 2, host 1;
# the host is allowed every request under Cilium's default allow-localhost, and held to the rules
# with --allow-localhost policy).
# HTTP/1.1 (httpbin), HTTP/2 (h2c) and gRPC are judged per request; every denial is backed by an
# INGRESS DROPPED flow naming the policy and the client's identity. DNS has no ingress rules in
# Cilium (apply refuses them), so there is no ingress DNS proxying to check.
source "$(dirname "$0")/../lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"; cleanup' EXIT
cat > "$dir/topology.yaml" <<'YAML'
namespaces:
  - name: backend
pods:
  - name: api
    namespace: backend
    labels: {app: api}
    servers: ["httpbin:80", "h2c:8080", "grpc:50051"]
world:
  - name: client.example.com
    addresses: [192.0.2.50]
YAML
cat > "$dir/policy.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-from-outside, namespace: backend}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEntities: [world, host]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{method: GET, path: /status/200}]
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http: [{method: GET, path: "/allowed.*"}]
    - ports: [{port: "50051", protocol: TCP}]
      rules:
        http: [{method: POST, path: "/grpc.health.v1.Health/.*"}]
YAML
cat > "$dir/dns-ingress.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns-ingress, namespace: backend}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEntities: [world]
    toPorts:
    - ports: [{port: "53", protocol: UDP}]
      rules:
        dns: [{matchPattern: "*"}]
YAML
sandbox_up "$dir/topology.yaml"
api=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "api"][0])')
W=world/client.example.com
wcurl() { pod $W curl --interface 192.0.2.50 -s -m 5 "$@"; }
ncurl() { pod node curl -s -m 5 "$@"; }
PY="$ROOT/.venv/bin/python3"
GRPC_CLIENT="$ROOT/integration/servers/grpc_client.py"

step "before the policy every method passes"
expect_eq "world POST /post" 200 "$(wcurl -o /dev/null -w '%{http_code}' -X POST -d x=1 http://$api/post)"
expect_eq "node DELETE /delete" 200 "$(ncurl -o /dev/null -w '%{http_code}' -X DELETE http://$api/delete)"
apply "$dir/policy.yaml"

step "world client, HTTP/1.1"
expect_eq "world GET /status/200" 200 "$(wcurl -o /dev/null -w '%{http_code}' http://$api/status/200)"
out=$(wcurl -w '\n%{http_code}' -X POST -d x=1 http://$api/post)
expect_eq "world POST /post status" 403 "$(echo "$out" | tail -1)"
expect_eq "world POST /post body" "Access denied" "$(echo "$out" | head -1 | tr -d '\r')"
expect_eq "world GET /status/418" 403 "$(wcurl -o /dev/null -w '%{http_code}' http://$api/status/418)"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["traffic_direction"]=="INGRESS" and http["method"]=="POST" and http["url"]=="http://'$api'/post" and f["IP"]["source"]=="192.0.2.50" and f["source"]["identity"]==2 and "reserved:world" in f["source"].get("labels",[]) and pol(f,"ingress_denied_by")=="api-from-outside" and f["destination"].get("pod_name")=="api"' >/dev/null
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["traffic_direction"]=="INGRESS" and http["url"]=="http://'$api'/status/200" and f["source"]["identity"]==2 and pol(f,"ingress_allowed_by")=="api-from-outside"' >/dev/null
await_flows 1 'l7.get("type")=="RESPONSE" and http.get("code")==403 and http["url"]=="http://'$api'/post" and f["destination"]["identity"]==2' >/dev/null
echo "ok: world's denied POST is an INGRESS DROPPED flow from identity world naming api-from-outside"

step "node (host) client, allow-localhost (the default): proxied, every request allowed"
# Cilium rule 8: the host reaches its pods whatever the policy says; an L7 rule that selects the
# host still sends it through the proxy (Cilium turns its L7 rules into allow-all for the host).
expect_eq "node GET /status/200" 200 "$(ncurl -o /dev/null -w '%{http_code}' http://$api/status/200)"
expect_eq "node PUT /put" 200 "$(ncurl -o /dev/null -w '%{http_code}' -X PUT -d x=1 http://$api/put)"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["traffic_direction"]=="INGRESS" and http["method"]=="PUT" and f["source"]["identity"]==1 and "reserved:host" in f["source"].get("labels",[]) and f["IP"]["source"]=="10.244.0.1"' >/dev/null
echo "ok: the node's PUT went through the proxy as identity host and was allowed"

step "node (host) client, --allow-localhost policy: the HTTP rules apply to the host"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent --agent-arg=--allow-localhost=policy
expect_eq "node GET /status/200" 200 "$(ncurl -o /dev/null -w '%{http_code}' http://$api/status/200)"
out=$(ncurl -w '\n%{http_code}' -X PUT -d x=1 http://$api/put)
expect_eq "node PUT /put status" 403 "$(echo "$out" | tail -1)"
expect_eq "node PUT /put body" "Access denied" "$(echo "$out" | head -1 | tr -d '\r')"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["traffic_direction"]=="INGRESS" and http["method"]=="PUT" and f["source"]["identity"]==1 and "reserved:host" in f["source"].get("labels",[]) and pol(f,"ingress_denied_by")=="api-from-outside"' >/dev/null
echo "ok: the node's denied PUT is an INGRESS DROPPED flow from identity host"

step "world client, HTTP/2 (h2c, prior knowledge)"
out=$(wcurl --http2-prior-knowledge -w '\n%{http_code} %{http_version}' http://$api:8080/allowed/one)
expect_eq "h2c GET /allowed/one" "200 2" "$(echo "$out" | tail -1)"
expect_eq "h2c DELETE /allowed/one" 403 "$(wcurl --http2-prior-knowledge -o /dev/null -w '%{http_code}' -X DELETE http://$api:8080/allowed/one)"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["traffic_direction"]=="INGRESS" and http["protocol"]=="HTTP/2" and http["method"]=="DELETE" and f["source"]["identity"]==2' >/dev/null
echo "ok: HTTP/2 denial from world recorded"

step "world client, gRPC"
expect_eq "gRPC Health/Check" "OK SERVING" "$(pod $W "$PY" "$GRPC_CLIENT" $api:50051 check)"
# The client exits 2 on a non-OK gRPC status (as in 41_grpc).
out=$(expect_status "gRPC Tester/Echo from world" 2 pod $W "$PY" "$GRPC_CLIENT" $api:50051 echo hello)
expect_eq "gRPC Tester/Echo" "ERROR PERMISSION_DENIED Access denied" "$(echo "$out" | tr -d '\r' | head -1)"
await_flows 1 'l7.get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["traffic_direction"]=="INGRESS" and http["url"].endswith("/sluice.test.Tester/Echo") and f["source"]["identity"]==2' >/dev/null
echo "ok: gRPC denial from world recorded"

step "DNS: Cilium has no ingress DNS rules, apply refuses them"
out=$(expect_status "apply of an ingress DNS rule refused" 1 bash -c '"$0" apply -f "$1" 2>&1' "$SLUICE" "$dir/dns-ingress.yaml")
echo "$out"
expect_contains "apply error" "L7 protocol DNS is not supported on ingress yet" "$out"
expect_eq "the HTTP rules are still in force" 403 "$(wcurl -o /dev/null -w '%{http_code}' -X POST http://$api/post)"
