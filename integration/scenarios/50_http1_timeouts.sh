# HTTP/1 timeouts with real clients (docs/proxy.md "Timeouts"), the agent started with short
# ones: request head 2 s (a slowloris trickling header lines gets 408 and never reaches the
# server), client keep-alive idle 2 s (the proxy closes), response 1.5 s (a slow upstream: 504).
# Each is backed by its flow: the status and the side's ETIMEDOUT in the record.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/integration/servers/http1_edge_sandbox.sh"
edge_up --http-request-head-timeout-ms=2000 --http-idle-timeout-ms=2000 --http-response-timeout-ms=1500
WAIT_SECONDS=15

step "slowloris: header lines trickled every 0.25 s get 408 at the head deadline"
out=$(edge_client trickle "$EDGE_HOST" 8080 /allowed/trickle 0.25 12)
echo "$out"
expect_contains "trickled head" "HTTP/1.1 408 Request Timeout" "$out"
lines=$(echo "$out" | sed -n 's/.*; \([0-9]*\) header lines trickled/\1/p')
[ "${lines:-0}" -ge 4 ] || fail "the client trickled only ${lines:-0} lines: it was not a slowloris"
echo "ok: $lines header lines trickled before the 408"
expect_flows "408 response flow with the client's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and http.get("code")==408 and f.get("Summary","").endswith("downstream ETIMEDOUT")'
expect_unseen "the trickled request never reached the server" "$EDGE_DIR/server.log" "GET /allowed/trickle" "GET /allowed/ready"

step "client keep-alive idle: the proxy closes an idle connection"
out=$(edge_client idle "$EDGE_HOST" 8080 /allowed/idle 10)
expect_eq "answer, then the proxy's close" "200 then closed" "$out"
expect_flows "idle close: ERROR response flow with code 0 and the client's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code",0)==0 and f.get("Summary","").endswith("downstream ETIMEDOUT")'

step "slow upstream: 504 after the response timeout"
out=$(pod frontend/frontend curl -s -m 10 -w '\n%{http_code}' "$EDGE/slow/4")
expect_eq "status" 504 "$(echo "$out" | tail -1)"
expect_contains "Envoy's body" "upstream request timeout" "$out"
expect_flows "504 response flow with the upstream's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and http.get("code")==504 and http["url"].endswith("/slow/4") and f.get("Summary","").endswith("upstream ETIMEDOUT")'
expect_eq "a fast answer on the same path prefix still passes" 200 "$(http_code frontend/frontend "$EDGE/slow/0")"

step "compact observe names the reasons"
compact=$("$SLUICE" observe -t l7 --last 100)
expect_contains "compact 408" "408" "$compact"
expect_contains "compact ETIMEDOUT" "downstream ETIMEDOUT" "$compact"
expect_contains "compact 504" "upstream ETIMEDOUT" "$compact"
