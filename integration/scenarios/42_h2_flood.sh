# The HTTP/2 protections: a rapid-reset flood (CVE-2023-44487) from a Python h2 client, and PING,
# SETTINGS, empty-DATA and CONTINUATION floods, each get that client's connection closed with
# GOAWAY(ENHANCE_YOUR_CALM = 11), while a well-behaved client on the same port keeps getting its
# answers throughout; the agent keeps running.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/integration/servers/h2_sandbox.sh"
h2_up
FLOOD="$ROOT/integration/servers/h2_flood.py"
BACKEND_H2=backend.backend.svc.cluster.local
good_log="$H2_DIR/good.txt"

step "a well-behaved client loops on the same port during the floods"
pod frontend/frontend bash -c "for i in \$(seq 60); do curl -s -m 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}\n' $H2/allowed/good; sleep 0.1; done" >"$good_log" &  # sleep 0.1: pacing of the client's requests
good=$!
wait_until "the well-behaved client's first request was answered" test -s "$good_log"

for mode in rapid-reset ping settings empty-data continuation; do
  step "flood: $mode"
  out=$(pod frontend/frontend "$PY" "$FLOOD" $BACKEND_H2 8080 $mode 2000)
  echo "$out"
  expect_contains "$mode: GOAWAY ENHANCE_YOUR_CALM and closed" "goaway 11 closed" "$out"
done
wait $good
codes=$(sort "$good_log" | uniq -c | xargs)
echo "well-behaved client: $codes"
expect_eq "well-behaved client: every answer 200" "60 200" "$codes"
expect_eq "agent still running" 0 "$(kill -0 "$(agent_pid)" && echo 0 || echo 1)"
expect_eq "a new connection works after the floods" 200 "$(pod frontend/frontend curl -s -m 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}' $H2/allowed/after)"

step "flows: the well-behaved requests were forwarded and answered"
expect_flows "forwarded /allowed/good requests" 60 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="FORWARDED" and http["url"].endswith(":8080/allowed/good")'
expect_flows "200 responses to /allowed/good" 60 'f["l7"]["type"]=="RESPONSE" and http.get("code")==200 and http["url"].endswith(":8080/allowed/good")'
