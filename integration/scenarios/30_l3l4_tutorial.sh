# L3/L4 policy in the eBPF datapath (issue 3): the DigitalOcean Cilium tutorial, steps 2-4.
# Default deny ingress on namespace backend drops everything silently (curl prints 000) with a
# DROPPED flow, POLICY_DENIED (133); allowing frontend on TCP 80 lets only frontend in; the L7
# rules then allow GET /get and answer POST /post with 403. The node still reaches its pods
# (allow-localhost), and replies of allowed connections come back (connection tracking).
source "$(dirname "$0")/../lib.sh"
sandbox_up
TUT="$ROOT/proxy-config/examples/tutorial"
backend_ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')

step "step 2: no policy, everyone reaches backend"
expect_eq "default -> backend /get" 200 "$(http_code default/client $BACKEND/get)"
expect_eq "frontend -> backend /get" 200 "$(http_code frontend/frontend $BACKEND/get)"

step "step 3: default-deny-ingress on namespace backend"
apply "$TUT/default-deny-ingress.yaml"
expect_eq "default -> backend /get" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code default/client $BACKEND/get)"
expect_eq "frontend -> backend /get" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/frontend $BACKEND/get)"
expect_eq "node -> backend /get (allow-localhost)" 200 \
  "$(ip netns exec sluice-node curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$backend_ip/get")"
expect_eq "backend -> db:6379 (egress not selected; the reply passes by conntrack)" "hello" \
  "$(echo hello | pod backend/backend nc -q1 -w3 db.database.svc.cluster.local 6379)"
dropped='f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="INGRESS" and f["l4"]["TCP"]["destination_port"]==80 and f["l4"]["TCP"].get("flags",{}).get("SYN") is True'
n=$(await_flows 1 "$dropped and f[\"source\"].get(\"pod_name\")==\"client\" and f[\"destination\"].get(\"pod_name\")==\"backend\" and f[\"source\"].get(\"identity\",0)>=256 and f[\"destination\"].get(\"identity\",0)>=256")
[ "$n" -ge 1 ] || fail "no DROPPED POLICY_DENIED flow client -> backend:80 (got $n)"
echo "ok: $n DROPPED POLICY_DENIED flows client -> backend:80"
json=$(flows_json --verdict DROPPED | tail -n 1)
echo "$json"
expect_contains "drop flow" '"drop_reason_desc":"POLICY_DENIED"' "$(echo "$json" | tr -d ' ')"
expect_contains "drop flow" '"Type":"L3_L4"' "$(echo "$json" | tr -d ' ')"
compact=$("$SLUICE" observe --verdict DROPPED --last 3)
echo "$compact"
expect_contains "compact" "Policy denied DROPPED (TCP Flags: SYN)" "$compact"

step "step 3b: allow-from-frontend (TCP 80 from namespace frontend)"
apply "$TUT/allow-from-frontend.yaml"
expect_eq "frontend -> backend /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "frontend -> backend POST /post (no L7 rules yet)" 200 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "default -> backend /get" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code default/client $BACKEND/get)"
expect_eq "frontend -> backend:6379 (port not allowed)" "(nc exit 1)" \
  "$(nc_send frontend/frontend backend.backend.svc.cluster.local 6379 hi)"

step "step 4: backend-http-rules (L7 on port 80 for frontend)"
apply "$TUT/backend-http-rules.yaml"
# While allow-from-frontend (L4-only, same peer and port) is in force, Cilium lets every request
# through, but through the proxy (cilium-semantics.md 1.10 rule 5, section 7 point 2).
expect_eq "frontend POST /post with the L4-only allow still in force (proxied)" 200 \
  "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_flows "that POST has an L7 FORWARDED flow" 1 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and http.get("method")=="POST"'
step "replace allow-from-frontend by an empty ingress list (like deleting it): the L7 rules alone decide"
empty=$(mktemp --suffix .yaml)
cat > "$empty" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-from-frontend
  namespace: backend
spec:
  podSelector: {}
  policyTypes: [Ingress]
YAML
apply "$empty"
rm -f "$empty"
expect_eq "frontend GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "frontend POST /post" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "default -> backend /get" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code default/client $BACKEND/get)"
expect_flows "L7 POST flow DROPPED by the proxy" 1 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="DROPPED" and http.get("method")=="POST"'
n=$(await_flows 1 "$dropped and f[\"source\"].get(\"pod_name\")==\"client\"")
[ "$n" -ge 3 ] || fail "expected DROPPED flows for each of the 3 denied client attempts, got $n"
echo "ok: $n DROPPED flows from client"
