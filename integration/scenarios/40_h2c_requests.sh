# HTTP/2 through the proxy to an h2c upstream: curl with prior knowledge, curl with
# `Upgrade: h2c`, and nghttp with several streams on one connection; each stream is judged on its
# own (allowed 200, denied 403 with Envoy's body, the others unaffected); large bodies both ways;
# one request and one response flow per stream with protocol HTTP/2.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/integration/servers/h2_sandbox.sh"
h2_up

step "curl --http2-prior-knowledge: allowed, denied"
out=$(pod frontend/frontend curl -s -m 10 --http2-prior-knowledge -w '\n%{http_code} %{http_version}' $H2/allowed/one)
echo "$out"
expect_eq "allowed status and version" "200 2" "$(echo "$out" | tail -1)"
expect_contains "allowed body from the h2c server" '"path": "/allowed/one"' "$out"
expect_eq "denied" 403 "$(pod frontend/frontend curl -s -m 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' $H2/denied)"
expect_eq "denied method" 403 "$(pod frontend/frontend curl -s -m 10 --http2-prior-knowledge -o /dev/null -w '%{http_code}' -X DELETE $H2/allowed/one)"
expect_eq "HEAD (GET does not match HEAD), answered without a body" "403 0" "$(pod frontend/frontend curl -s -m 10 --http2-prior-knowledge -I -o /dev/null -w '%{http_code} %{size_download}' $H2/allowed/one)"
headers=$(pod frontend/frontend curl -s -i -m 10 --http2-prior-knowledge $H2/denied | tr -d '\r')
expect_contains "403 head" "HTTP/2 403" "$headers"
expect_contains "403 head" "content-length: 15" "$headers"
expect_contains "403 head" "content-type: text/plain" "$headers"
expect_contains "403 head" "server: envoy" "$headers"
body=$(pod frontend/frontend curl -s -m 10 --http2-prior-knowledge $H2/denied | python3 -c 'import sys; print(repr(sys.stdin.buffer.read()))')
expect_eq "403 body bytes" "b'Access denied\\r\\n'" "$body"

step "curl --http2 (HTTP/1.1 Upgrade: h2c)"
out=$(pod frontend/frontend curl -s -m 10 --http2 -o /dev/null -w '%{http_code} %{http_version}' $H2/allowed/upgraded)
expect_eq "upgraded request" "200 2" "$out"
# A denied upgrade request is judged before any 101: 403 over HTTP/1.1 (docs/http2.md).
out=$(pod frontend/frontend curl -s -m 10 --http2 -o /dev/null -w '%{http_code} %{http_version}' $H2/denied-upgraded)
expect_eq "upgraded denied request: 403, never switched" "403 1.1" "$out"

step "nghttp: four streams on one connection, one of them denied"
out=$(pod frontend/frontend nghttp -ns -t 10 $H2/allowed/a $H2/denied/b $H2/allowed/c "$H2/allowed/d?x=1" 2>&1)
echo "$out"
table=$(echo "$out" | awk '$1 ~ /^[0-9]+$/ && NF == 7 {print $1, $5, $7}')
expect_eq "streams" 4 "$(echo "$table" | wc -l)"
expect_eq "codes by path" "/allowed/a 200,/allowed/c 200,/allowed/d?x=1 200,/denied/b 403" \
  "$(echo "$table" | awk '{print $3, $2}' | sort | paste -sd,)"
expect_eq "distinct stream ids" 4 "$(echo "$table" | awk '{print $1}' | sort -u | wc -l)"
out=$(pod frontend/frontend nghttp -nv -t 10 $H2/allowed/a $H2/denied/b 2>&1)
expect_eq "one TCP connection for both streams" 1 "$(echo "$out" | grep -c 'Connected')"

step "large bodies both ways (flow control, no whole-message buffering)"
out=$(pod frontend/frontend bash -c "head -c 8000000 /dev/zero | curl -s -m 60 --http2-prior-knowledge --data-binary @- $H2/upload")
expect_contains "upload received by the server" '"received": 8000000' "$out"
out=$(pod frontend/frontend curl -s -m 60 --http2-prior-knowledge -o /dev/null -w '%{http_code} %{size_download}' $H2/bytes/20000000)
expect_eq "20 MB download" "200 20000000" "$out"

step "flows"
expect_flows "forwarded HTTP/2 request flows for /allowed/one" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="FORWARDED" and http["protocol"]=="HTTP/2" and http["url"]=="http://backend.backend.svc.cluster.local:8080/allowed/one"'
expect_flows "dropped HTTP/2 request flows for /denied" 3 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["protocol"]=="HTTP/2" and http["url"].endswith(":8080/denied")'
expect_flows "403 response flows for /denied" 3 'f["l7"]["type"]=="RESPONSE" and http.get("code")==403 and f["is_reply"] is True and http["url"].endswith(":8080/denied")'
expect_flows "nghttp streams: request flows" 6 'f["l7"]["type"]=="REQUEST" and http["protocol"]=="HTTP/2" and (http["url"].endswith("/allowed/a") or http["url"].endswith("/denied/b") or http["url"].endswith("/allowed/c") or http["url"].endswith("/allowed/d?x=1"))'
expect_flows "200 responses with latency" 1 'http.get("code")==200 and http["url"].endswith("/bytes/20000000") and int(f["l7"].get("latency_ns","0"))>0'
expect_flows "the allowed upgraded request's flow is HTTP/2" 1 'f["l7"]["type"]=="REQUEST" and http["protocol"]=="HTTP/2" and "upgraded" in http["url"]'
expect_flows "the denied upgrade request's flow is HTTP/1.1, DROPPED" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["protocol"]=="HTTP/1.1" and http["url"].endswith("/denied-upgraded")'
compact=$("$SLUICE" observe -t l7 --last 200)
expect_contains "compact" "http-request DROPPED (HTTP/2 GET http://backend.backend.svc.cluster.local:8080/denied)" "$compact"
expect_contains "compact" "http-response FORWARDED (HTTP/2 403" "$compact"

step "HTTP/2 limits from the command line: the agent advertises what it was started with"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent --agent-arg=--http2-max-concurrent-streams=7 --agent-arg=--http2-initial-stream-window-size=100000
expect_eq "prior-knowledge GET after the restart" 200 "$(http_code frontend/frontend --http2-prior-knowledge "$H2/allowed/after-restart")"
out=$(pod frontend/frontend nghttp -nv -t 10 $H2/allowed/limits 2>&1)
expect_contains "SETTINGS_MAX_CONCURRENT_STREAMS" "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7" "$out"
expect_contains "SETTINGS_INITIAL_WINDOW_SIZE" "SETTINGS_INITIAL_WINDOW_SIZE(0x04):100000" "$out"
expect_contains "the request still succeeds" ":status: 200" "$out"
