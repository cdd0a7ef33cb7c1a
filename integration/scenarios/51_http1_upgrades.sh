# HTTP/1 upgrades with real clients (docs/proxy.md "Upgrades"): an allowed WebSocket upgrade
# becomes a tunnel (echo both ways) closed by its idle timeout; a 101 nobody asked for, or for
# another protocol, or for h2c is 502 and nothing after it reaches the client; an h2c upgrade
# (curl --http2) and a WebSocket upgrade on a denied path get 403 over HTTP/1.1, never 101, and
# never reach the server. Each outcome is backed by its flow.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/integration/servers/http1_edge_sandbox.sh"
edge_up --http-tunnel-idle-timeout-ms=2000
WAIT_SECONDS=15

step "allowed WebSocket: 101, echo through the tunnel, closed after 2 s idle"
out=$(edge_client ws "$EDGE_HOST" 8080 /ws/chat 10)
expect_eq "websocket" "101 echo=hello sluice closed" "$out"
expect_flows "101 response flow" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="FORWARDED" and http.get("code")==101 and http["url"].endswith("/ws/chat")'
expect_flows "tunnel idle close: ERROR flow with code 101 and ETIMEDOUT" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code")==101 and f.get("Summary","").endswith("downstream ETIMEDOUT")'

step "unsolicited 101: 502, the upstream's bytes never reach the client"
expect_eq "no upgrade asked" "HTTP/1.1 502 Bad Gateway" "$(edge_client raw "$EDGE_HOST" 8080 /unsolicited/plain -)"
expect_eq "another protocol asked" "HTTP/1.1 502 Bad Gateway" "$(edge_client raw "$EDGE_HOST" 8080 /unsolicited/other foo/1)"
expect_eq "101 for h2c" "HTTP/1.1 502 Bad Gateway" "$(edge_client raw "$EDGE_HOST" 8080 /upgrade-echo/h2c h2c)"
expect_flows "502 response flows" 3 'f["l7"]["type"]=="RESPONSE" and http.get("code")==502 and ("/unsolicited/" in http["url"] or "/upgrade-echo/h2c" in http["url"])'
expect_eq "control: the same server's 101 for a protocol that was asked is relayed" \
  "HTTP/1.1 101 Switching Protocols sneaky" "$(edge_client raw "$EDGE_HOST" 8080 /upgrade-echo/x x-test)"

step "h2c upgrade on a denied path: 403 over HTTP/1.1, never 101"
verbose=$(pod frontend/frontend curl -sv -m 10 --http2 -o /dev/null "$EDGE/denied/h2c" 2>&1)
expect_contains "curl asked for h2c" "Upgrade: h2c" "$verbose"
expect_contains "403" "< HTTP/1.1 403 Forbidden" "$verbose"
expect_eq "no 101 at all" 0 "$(grep_count "101 Switching" <<<"$verbose")"
expect_flows "DROPPED HTTP/1.1 request flow" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["protocol"]=="HTTP/1.1" and http["url"].endswith("/denied/h2c")'

step "WebSocket upgrade on a denied path: 403, never forwarded"
expect_eq "denied websocket" "HTTP/1.1 403 Forbidden" "$(edge_client raw "$EDGE_HOST" 8080 /denied/ws websocket)"
expect_flows "DROPPED request flow" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["url"].endswith("/denied/ws")'
expect_unseen "denied upgrades never reached the server" "$EDGE_DIR/server.log" "GET /denied" "GET /ws/chat"
