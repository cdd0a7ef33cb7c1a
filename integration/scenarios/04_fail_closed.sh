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
expect_eq "GET /get with the agent down" 000 "$(CURL_TIMEOUT=3 http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post with the agent down" 000 "$(CURL_TIMEOUT=3 http_code frontend/frontend -X POST $BACKEND/post)"
step "the backend saw nothing: no request reached httpbin unfiltered"
log=$(ls /run/sluice/sandbox/logs/backend_backend_httpbin_80.log)
expect_eq "POST /post lines in httpbin's log" 0 "$(grep -c 'POST /post' "$log" || true)"
expect_contains "drop flow" "SOCKET_LOOKUP_FAILED" "$("$SLUICE" observe --verdict DROPPED -o json --last 5)"
step "port 6379 (no L7 rules) still works while the agent is down"
# db is selected by no policy. backend:6379 is not reachable any more: backend-http-rules selects
# backend for ingress, which makes its ingress default-deny (Cilium: any rule selecting an endpoint
# in a direction enables default deny there), and the L3/L4 datapath keeps enforcing it while the
# agent is down.
expect_eq "echo via db:6379" "ping" "$(echo ping | pod frontend/frontend nc -q1 -w3 db.database.svc.cluster.local 6379)"
expect_eq "backend:6379 dropped (default deny)" "" "$(echo ping | pod frontend/frontend nc -q1 -w2 backend.backend.svc.cluster.local 6379 || true)"
step "start the agent again"
"$SLUICE" sandbox start-agent
expect_eq "GET /get after restart" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post after restart (policy kept)" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
