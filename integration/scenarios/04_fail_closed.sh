# With the agent down, the L7 port fails closed: the connection is dropped by sk_lookup (no proxy
# socket), never passed unfiltered, and a DROPPED flow says why. Policies survive the restart.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "GET /get with the agent up" 200 "$(http_code frontend/frontend $BACKEND/get)"
pid=$(agent_pid)
step "stop the agent (pid $pid)"
"$SLUICE" sandbox stop-agent
running "$pid" && fail "agent still running"
# The SYN is dropped (no proxy socket), so curl times out (28): not refused, not a name error.
lookup_failed='f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="SOCKET_LOOKUP_FAILED" and f["l4"]["TCP"]["destination_port"]==80'
expect_eq "GET /get with the agent down" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post with the agent down" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/frontend -X POST $BACKEND/post)"
echo "ok: SOCKET_LOOKUP_FAILED drop flows: $(await_flows 2 "$lookup_failed")"
step "the backend saw nothing: no request reached httpbin unfiltered"
# The control: httpbin logged the GET /get sent with the agent up.
expect_unseen "POST /post reached httpbin" /run/sluice/sandbox/logs/backend_backend_httpbin_80.log 'POST /post' 'GET /get'
step "port 6379 (no L7 rules) still works while the agent is down"
# db is selected by no policy. backend:6379 is not reachable any more: backend-http-rules selects
# backend for ingress, which makes its ingress default-deny (Cilium: any rule selecting an endpoint
# in a direction enables default deny there), and the L3/L4 datapath keeps enforcing it while the
# agent is down.
expect_eq "echo via db:6379" "ping" "$(echo ping | pod frontend/frontend nc -q1 -w3 db.database.svc.cluster.local 6379)"
# nc's connect times out (exit 1, no output) and the datapath says why.
expect_denied "backend:6379 dropped (default deny)" 1 "" \
  'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f["l4"]["TCP"]["destination_port"]==6379 and f["destination"].get("pod_name")=="backend"' \
  bash -c "echo ping | '$SLUICE' sandbox exec frontend/frontend -- nc -q1 -w2 backend.backend.svc.cluster.local 6379"
step "start the agent again"
"$SLUICE" sandbox start-agent
expect_eq "GET /get after restart" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post after restart (policy kept)" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
