# HTTP/1 timeouts of a connection that never speaks, an upstream that never answers SYN, and
# bodies that stop moving (docs/proxy.md "Timeouts"), the agent started with short ones: request
# head 2 s, upstream connect 1 s, body idle 2 s. Each is backed by its flow: the status and the
# stuck side's ETIMEDOUT in the record. Peers: integration/servers/http1_stall_peers.py.
source "$(dirname "$0")/../lib.sh"
# The frontend/backend topology and the CNP of the edge scenarios (frontend may GET /allowed*);
# its edge_up is not used: this scenario runs its own origin.
source "$ROOT/integration/servers/http1_edge_sandbox.sh"
PEERS="$ROOT/integration/servers/http1_stall_peers.py"
STALL_SERVER_PID=
trap '[ -z "$STALL_SERVER_PID" ] || kill "$STALL_SERVER_PID" 2>/dev/null || true; cleanup; rm -rf "$EDGE_DIR"' EXIT
WAIT_SECONDS=15

"$SLUICE" sandbox up "$EDGE_DIR/topology.yaml" --agent-arg=--http-request-head-timeout-ms=2000 \
  --agent-arg=--connect-timeout-ms=1000 --agent-arg=--http-body-idle-timeout-ms=2000
# $! is the server's PID: sluice, ip netns exec and python exec one another.
"$SLUICE" sandbox exec backend/backend -- "$PY" -u "$PEERS" server --listen 0.0.0.0:8080 >"$EDGE_DIR/server.log" 2>&1 &
STALL_SERVER_PID=$!
wait_until "the origin listens" grep -q "listening on" "$EDGE_DIR/server.log"
apply "$EDGE_DIR/policy.yaml"
peers() { pod frontend/frontend "$PY" "$PEERS" "$@"; }

step "upstream connect timeout: the backend never answers a SYN (a blackhole route in its netns) -> 503"
# Before any request reached the backend, so no pooled upstream connection exists: the proxy
# must connect. Its upstream connections leave from the node's address (10.244.0.1): a blackhole
# route for that address in the backend pod's network namespace (and only there) drops the
# backend's SYN-ACKs; the route it replaces is put back after the step.
node_route=$(pod backend/backend ip route show 10.244.0.1)
[ -n "$node_route" ] || fail "the backend pod has no route for the node's address"
pod backend/backend ip route replace blackhole 10.244.0.1
pod backend/backend ip route
out=$(pod frontend/frontend curl -s -m 8 -w '\n%{http_code} %{time_total}' "$EDGE/allowed/connect")
echo "$out"
expect_eq "status when the upstream never answers the SYN" 503 "$(echo "$out" | tail -1 | cut -d' ' -f1)"
expect_contains "Envoy's body" "upstream connect error" "$out"
expect_flows "503 response flow with the upstream's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and http.get("code")==503 and http["url"].endswith("/allowed/connect") and f.get("Summary","").endswith("upstream ETIMEDOUT")'
expect_unseen "the request never reached the backend" "$EDGE_DIR/server.log" "GET /allowed/connect" "listening on"
# $node_route is the route's words (e.g. "10.244.0.1 dev eth0 scope link"), split on purpose.
pod backend/backend ip route replace $node_route
wait_until "an allowed GET goes through once the routes are gone" edge_ready

step "silent connection: a client that connects and sends nothing is closed at the head deadline"
# The listener has TCP_DEFER_ACCEPT (5 s): the kernel keeps a silent connection until its
# SYN-ACK retransmits reach 5 s (1 + 2 + 4 s: accepted after about 7 s), then the proxy's 2 s
# head deadline runs from the accept: about 9 s in all.
out=$(peers silent "$EDGE_HOST" 8080 10)
echo "$out"
expect_contains "closed by the proxy, nothing answered" ", 0 bytes received" "$out"
secs=$(echo "$out" | sed -n 's/^closed after \([0-9]*\) s.*/\1/p')
[ -n "$secs" ] && [ "$secs" -ge 8 ] && [ "$secs" -le 11 ] || fail "closed after ${secs:-?} s, expected about 7 s in the kernel's queue + the 2 s head deadline"
expect_flows "silent close: ERROR response flow, code 0, the client's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code",0)==0 and f.get("Summary","").endswith("downstream ETIMEDOUT")'

step "upstream silent after the response head: cut off at the body timeout"
out=$(peers stall "$EDGE_HOST" 8080 /allowed/stall 10)
echo "$out"
expect_eq "the client got the head and 10 of 1000 bytes, then the close" "HTTP/1.1 200 OK; 10 body bytes; closed" "$out"
expect_flows "ERROR flow with code 200 and the upstream's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code")==200 and http["url"].endswith("/allowed/stall") and f.get("Summary","").endswith("upstream ETIMEDOUT")'
wait_until "the origin saw the proxy close its side" grep -q "stall: closed by the proxy" "$EDGE_DIR/server.log"

step "client that stops reading the response body: cut off at the body timeout"
out=$(peers stopread "$EDGE_HOST" 8080 /allowed/big 6)
echo "$out"
expect_contains "the client got a part of the body, then the close" "closed" "$out"
got=$(echo "$out" | sed -n 's/.*; \([0-9]*\) body bytes.*/\1/p')
[ -n "$got" ] && [ "$got" -lt 1073741824 ] || fail "the client read ${got:-no} body bytes: the response was not cut off"
expect_flows "ERROR flow with code 200 and the client's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code")==200 and http["url"].endswith("/allowed/big") and f.get("Summary","").endswith("downstream ETIMEDOUT")'
wait_until "the origin's sending failed once the proxy closed" grep -q "big: sent" "$EDGE_DIR/server.log"
grep "big: sent" "$EDGE_DIR/server.log"

step "client that stops sending its request body: 408 at the body timeout"
out=$(peers partialbody "$EDGE_HOST" 8080 /allowed/body 10)
echo "$out"
expect_eq "answer" "HTTP/1.1 408 Request Timeout; closed" "$out"
expect_flows "408 response flow with the client's ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and http.get("code")==408 and http["url"].endswith("/allowed/body") and f.get("Summary","").endswith("downstream ETIMEDOUT")'
wait_until "the origin saw the body cut short" grep -q "body: closed after 10 of 100 bytes" "$EDGE_DIR/server.log"

step "compact observe names the reasons"
compact=$("$SLUICE" observe -t l7 --last 100)
expect_contains "compact 503" "503" "$compact"
expect_contains "compact upstream ETIMEDOUT" "upstream ETIMEDOUT" "$compact"
expect_contains "compact downstream ETIMEDOUT" "downstream ETIMEDOUT" "$compact"
