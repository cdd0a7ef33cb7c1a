# A real grpcio service behind a CNP with gRPC paths: grpc.health.v1.Health Check and Watch are
# allowed, sluice.test.Tester/Echo is not (PERMISSION_DENIED at the client, from Envoy's
# trailers-only answer), a server-streaming call of 10,000 messages completes, and a
# bidirectional call runs in lock-step. Flows: the denied call's request DROPPED, its response
# code the :status the client saw (200).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/integration/servers/h2_sandbox.sh"
h2_up
CLIENT="$ROOT/integration/servers/grpc_client.py"

step "allowed: Health/Check and Health/Watch"
expect_eq "Check" "OK SERVING" "$(pod frontend/frontend "$PY" "$CLIENT" $GRPC check)"
expect_eq "Check sluice.test.Tester" "OK SERVING" "$(pod frontend/frontend "$PY" "$CLIENT" $GRPC check sluice.test.Tester)"
expect_eq "Watch" "OK SERVING" "$(pod frontend/frontend "$PY" "$CLIENT" $GRPC watch)"

step "denied: Tester/Echo fails with PERMISSION_DENIED"
out=$(expect_status "client exit code" 2 pod frontend/frontend "$PY" "$CLIENT" $GRPC echo hello)
echo "$out"
expect_eq "status and message" "ERROR PERMISSION_DENIED Access denied" "$(echo "$out" | tr -d '\r' | head -1)"

step "server-streaming: Tester/Count of 10,000 messages"
expect_eq "Count 10000" "OK 10000 9999" "$(pod frontend/frontend "$PY" "$CLIENT" $GRPC count 10000)"

step "bidirectional: Tester/Chat, 2,000 messages in lock-step (each answer before the next message)"
expect_eq "Chat 2000" "OK 2000 re:1999....." "$(pod frontend/frontend "$PY" "$CLIENT" $GRPC chat 2000)"

step "raw answer: trailers-only with grpc-status 7 (nghttp)"
out=$(pod frontend/frontend bash -c "printf '\\0\\0\\0\\0\\0' > /tmp/grpc-empty.bin; nghttp -v -t 10 -H 'content-type: application/grpc' -H 'te: trailers' -d /tmp/grpc-empty.bin http://$GRPC/sluice.test.Tester/Echo" 2>&1)
echo "$out" | grep -E "recv|:status|grpc" | head -20
expect_contains "answer" ":status: 200" "$out"
expect_contains "answer" "grpc-status: 7" "$out"
expect_contains "answer" "grpc-message: Access denied%0D%0A" "$out"
expect_contains "answer" "content-type: application/grpc" "$out"
# nghttp's frame log is in $out (its HEADERS frame was checked above).
expect_eq "no DATA frame in the answer" 0 "$(grep_count 'recv DATA' <<<"$out")"

step "flows"
expect_flows "forwarded Check requests" 2 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="FORWARDED" and http["protocol"]=="HTTP/2" and http["method"]=="POST" and http["url"].endswith(":50051/grpc.health.v1.Health/Check")'
expect_flows "dropped Echo requests" 2 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="DROPPED" and http["url"].endswith(":50051/sluice.test.Tester/Echo")'
expect_flows "Echo responses (trailers-only, :status 200)" 2 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="FORWARDED" and http.get("code")==200 and http["url"].endswith("/sluice.test.Tester/Echo")'
expect_flows "Count response with latency" 1 'f["l7"]["type"]=="RESPONSE" and http.get("code")==200 and http["url"].endswith("/sluice.test.Tester/Count") and int(f["l7"].get("latency_ns","0"))>0'
