# The tutorial's L7 step: GET /get 200, POST /post 403 (Envoy's exact answer), GET /anything/x 200,
# and Cilium's full-match semantics; then the flows as `sluice observe` prints them.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"

step "allowed and denied requests from frontend"
expect_eq "GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "GET /anything/x" 200 "$(http_code frontend/frontend $BACKEND/anything/x)"
step "full-match semantics (path includes the query; GET does not match HEAD)"
expect_eq "GET /get?x=1" 403 "$(http_code frontend/frontend "$BACKEND/get?x=1")"
expect_eq "GET /get/more" 403 "$(http_code frontend/frontend $BACKEND/get/more)"
expect_eq "HEAD /get" 403 "$(http_code frontend/frontend -I $BACKEND/get)"

step "the 403 is Envoy's: headers and 15-byte body"
body=$(pod frontend/frontend curl -s -m 5 -X POST $BACKEND/post | python3 -c 'import sys; print(repr(sys.stdin.buffer.read()))')
headers=$(pod frontend/frontend curl -s -i -m 5 -X POST $BACKEND/post | tr -d '\r')
expect_contains "403 head" "HTTP/1.1 403 Forbidden" "$headers"
expect_contains "403 head" "content-length: 15" "$headers"
expect_contains "403 head" "content-type: text/plain" "$headers"
expect_contains "403 head" "server: envoy" "$headers"
expect_contains "403 head" "date: " "$headers"
expect_eq "403 body bytes" "b'Access denied\\r\\n'" "$body"

step "flows"
expect_flows "forwarded GET /get requests" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="FORWARDED" and http["url"]=="http://backend.backend.svc.cluster.local/get"'
expect_flows "dropped POST requests" 3 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["method"]=="POST"'
expect_flows "403 responses, forwarded, reply" 6 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="FORWARDED" and http["code"]==403 and f["is_reply"] is True'
expect_flows "200 responses with latency" 2 'http.get("code")==200 and int(f["l7"].get("latency_ns","0"))>0'
expect_flows "ingress direction, endpoints named" 1 'l7.get("type")=="REQUEST" and f["traffic_direction"]=="INGRESS" and f["source"]["pod_name"]=="frontend" and f["destination"]["namespace"]=="backend" and http.get("url","").endswith("/anything/x") and f["l7"]["type"]=="REQUEST"'
compact=$("$SLUICE" observe -t l7 --last 50)
echo "$compact"
expect_contains "compact" "frontend/frontend:" "$compact"
expect_contains "compact" "-> backend/backend:80 (ID:" "$compact"
expect_contains "compact" "http-request FORWARDED (HTTP/1.1 GET http://backend.backend.svc.cluster.local/get)" "$compact"
expect_contains "compact" "http-request DROPPED (HTTP/1.1 POST http://backend.backend.svc.cluster.local/post)" "$compact"
expect_contains "compact" "http-response FORWARDED (HTTP/1.1 403 0ms (POST http://backend.backend.svc.cluster.local/post))" "$compact"
step "observe filters"
expect_eq "--verdict DROPPED" 6 "$(observe_lines --verdict DROPPED --last 100)"
expect_eq "--type l7 --http-method POST --last 2" 2 "$(observe_lines --type l7 --http-method POST --last 2)"
expect_eq "--pod frontend/front -t l7" 16 "$(observe_lines --pod frontend/front -t l7 --last 100)"
# Zero with the same --last 100 whose other filters above find flows (the controls).
expect_eq "--namespace database" 0 "$(observe_lines --namespace database --last 100)"
expect_eq "--not --verdict DROPPED -t l7" 10 "$(observe_lines --not --verdict DROPPED -t l7 --last 100)"
step "observe --follow prints new flows as they come"
follow_out=$(mktemp)
"$SLUICE" observe --follow --http-method DELETE >"$follow_out" &
fpid=$!
# The follower is ready once it has mapped the flow ring (it reads from the ring's end on).
wait_until "observe --follow has mapped the flow ring" grep -q bpf-map "/proc/$fpid/maps"
expect_eq "DELETE /anything/x" 403 "$(http_code frontend/frontend -X DELETE $BACKEND/anything/x)"
wait_until "observe --follow printed the request and its response" \
  bash -c '[ "$(wc -l <"$0")" -ge 2 ]' "$follow_out"
kill "$fpid"
wait "$fpid" && rc=0 || rc=$?
expect_eq "observe --follow ends on SIGTERM (128 + 15)" 143 "$rc"
expect_eq "followed DELETE flows (request + response)" 2 "$(wc -l <"$follow_out")"
expect_contains "followed" "http-request DROPPED (HTTP/1.1 DELETE http://backend.backend.svc.cluster.local/anything/x)" "$(cat "$follow_out")"
