# Bulk bodies through the spliced path (docs/architecture.md "Bodies by splice"): Content-Length
# and chunked downloads and uploads checked end to end with sha256, a denied request (403) after
# a spliced response on the same keep-alive connection, a client that stops reading (the origin
# is held back, the agent's memory does not grow, the transfer resumes and completes), and an
# origin that closes mid-body (the client sees the truncation, the flow names the upstream's EOF).
# Peers: integration/servers/bulk_peers.py; bodies are prefixes of one random file.
source "$(dirname "$0")/../lib.sh"
DIR=$(mktemp -d)
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true; cleanup; rm -rf "$DIR"' EXIT
PY="$ROOT/.venv/bin/python3"
[ -x "$PY" ] || PY=/usr/bin/python3
PEERS="$ROOT/integration/servers/bulk_peers.py"
HOST=backend.backend.svc.cluster.local
URL=http://$HOST:8080
WAIT_SECONDS=20

head -c $((48 << 20)) /dev/urandom >"$DIR/blob"
prefix_sha() { head -c "$1" "$DIR/blob" | sha256sum | cut -d' ' -f1; }
file_sha() { sha256sum <"$1" | cut -d' ' -f1; }
pipes_of_agent() { find "/proc/$(agent_pid)/fd" -lname 'pipe:*' 2>/dev/null | grep -c . || true; }

frontend_backend_topology "$DIR/topology.yaml"
backend_ingress_cnp "$DIR/policy.yaml" backend-bulk <<'YAML'
    - ports:
      - port: "8080"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/allowed/.*"
        - method: "POST"
          path: "/allowed/upload"
YAML
"$SLUICE" sandbox up "$DIR/topology.yaml"
# $! is the server's PID: sluice, ip netns exec and python exec one another.
"$SLUICE" sandbox exec backend/backend -- "$PY" -u "$PEERS" server --listen 0.0.0.0:8080 --blob "$DIR/blob" \
  >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
wait_until "the origin listens" grep -q "listening on" "$DIR/server.log"
apply "$DIR/policy.yaml"
wait_until "an allowed GET goes through" test "$(CURL_TIMEOUT=2 http_code frontend/frontend "$URL/allowed/ready")" = 200
pipes_before=$(pipes_of_agent)

step "Content-Length downloads on one keep-alive connection, then a denied request on it: 403"
out=$(pod frontend/frontend curl -s -w '%{http_code} %{size_download} %{num_connects}\n' \
  -o "$DIR/cl1" "$URL/allowed/cl/20000000" -o "$DIR/cl2" "$URL/allowed/cl/7777777" -o /dev/null "$URL/secret")
echo "$out"
expect_eq "statuses, sizes and connections" "200 20000000 1|200 7777777 0|403 15 0" "$(echo "$out" | paste -sd'|')"
expect_eq "first body sha256" "$(prefix_sha 20000000)" "$(file_sha "$DIR/cl1")"
expect_eq "second body sha256" "$(prefix_sha 7777777)" "$(file_sha "$DIR/cl2")"
expect_flows "200 response flows of the downloads" 2 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="FORWARDED" and http.get("code")==200 and "/allowed/cl/" in http["url"]'
expect_flows "the request after them was judged: DROPPED" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["url"].endswith("/secret")'
expect_unseen "the denied request never reached the origin" "$DIR/server.log" "GET /secret" "GET /allowed/cl/7777777"
pipes_after=$(pipes_of_agent)
[ "$pipes_after" -gt "$pipes_before" ] || fail "the agent holds $pipes_after pipe descriptors (before: $pipes_before): the bodies were not spliced"
echo "ok: the agent holds splice pipes ($pipes_before -> $pipes_after pipe descriptors)"

step "chunked download: chunk data spliced, sizes and trailer relayed"
out=$(pod frontend/frontend curl -s -w '%{http_code} %{size_download}' -o "$DIR/ch" "$URL/allowed/chunked/5000001")
expect_eq "status and decoded size" "200 5000001" "$out"
expect_eq "chunked body sha256" "$(prefix_sha 5000001)" "$(file_sha "$DIR/ch")"
raw=$(pod frontend/frontend curl -s --raw "$URL/allowed/chunked/250000" | tail -c 40 | tr -d '\r' | tail -3)
expect_contains "the last chunk and the trailer as the origin sent them" "x-checked: yes" "$raw"

step "uploads: Content-Length and chunked bodies arrive whole"
head -c 30000000 "$DIR/blob" >"$DIR/up"
out=$(pod frontend/frontend curl -s -X POST -T "$DIR/up" "$URL/allowed/upload")
expect_eq "the origin got the Content-Length upload" "30000000 $(prefix_sha 30000000)" "$out"
out=$(pod frontend/frontend curl -s -X POST -H 'transfer-encoding: chunked' -T "$DIR/up" "$URL/allowed/upload")
expect_eq "the origin got the chunked upload" "30000000 $(prefix_sha 30000000)" "$out"
expect_flows "200 response flows of both uploads" 2 'f["l7"]["type"]=="RESPONSE" and http.get("code")==200 and http["url"].endswith("/allowed/upload")'

step "a client that stops reading holds the origin back; the agent's memory does not grow; then it resumes"
out=$(pod frontend/frontend "$PY" "$PEERS" stopread "$HOST" 8080 /allowed/stream/50000000 3 "$(agent_pid)" "$DIR/server.log")
echo "$out"
read -r _ before _ held _ done _ got _ sha <<<"$out"
expect_eq "the origin could not send everything while the client read nothing" no "$done"
[ $((held - before)) -lt 4096 ] || fail "the agent's RSS grew by $((held - before)) KiB while the client did not read"
echo "ok: agent RSS $before -> $held KiB during the hold"
expect_eq "the transfer completed after the hold" 50000000 "$got"
expect_eq "stalled body sha256" "$(prefix_sha 50000000)" "$sha"
wait_until "the origin finished sending" grep -q "stream: done 50000000" "$DIR/server.log"

step "an origin that closes mid-body: the client sees the truncation, the flow names the upstream's EOF"
out=$(pod frontend/frontend curl -s -o "$DIR/tr" -w '%{http_code} %{size_download}' "$URL/allowed/trunc/4000000") && rc=0 || rc=$?
expect_eq "curl's verdict" "18: 200 2000000" "$rc: $out"
expect_eq "the bytes before the close are intact" "$(prefix_sha 2000000)" "$(file_sha "$DIR/tr")"
expect_flows "ERROR flow with code 200 and the upstream's EOF" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http.get("code")==200 and http["url"].endswith("/allowed/trunc/4000000") and f.get("Summary","").endswith("upstream EOF")'
