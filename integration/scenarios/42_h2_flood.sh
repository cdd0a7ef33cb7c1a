# The HTTP/2 protections: a rapid-reset flood (CVE-2023-44487) from a raw-frame client, its
# provoked variant (streams the proxy resets as malformed: DATA past content-length; streams it
# answers 400 for a host that disagrees with :authority), and PING, SETTINGS, empty-DATA and
# CONTINUATION floods, each get that client's connection closed with GOAWAY(ENHANCE_YOUR_CALM =
# 11) -- read from the raw frames, so a proxy that only went silent fails -- while a well-behaved
# client on the same port keeps getting its answers throughout; the agent keeps running.
# Then (issue 14): :authority vs host (400 / one authority upstream), 1-byte DATA frames
# coalesced, and a stream held at window 0 reset after --http2-stream-stall-timeout-ms.
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

for mode in rapid-reset provoked-reset host-mismatch ping settings empty-data continuation; do
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

step ":authority and host: a disagreeing host is 400, an agreeing one is dropped (one authority upstream)"
out=$(pod frontend/frontend "$PY" "$FLOOD" $BACKEND_H2 8080 authority)
echo "$out"
expect_eq "authority check" "mismatch 400 agree 200 authority=$BACKEND_H2 host=None" "$out"
expect_flows "ERROR request flow for the disagreeing host" 1 'f["l7"]["type"]=="REQUEST" and f["verdict"]=="ERROR" and http["url"].endswith("/allowed/authority")'

step "1-byte DATA frames are coalesced before they are forwarded"
out=$(pod frontend/frontend "$PY" "$FLOOD" $BACKEND_H2 8080 tiny-data 4000)
echo "$out"
expect_contains "tiny-data answered" "status 200 " "$out"
expect_contains "all 4000 bytes arrived" '"received": 4000' "$out"
frames=$(sed -n 's/.*"data_frames": \([0-9]*\).*/\1/p' <<<"$out")
[ -n "$frames" ] && [ "$frames" -ge 1 ] && [ "$frames" -le 40 ] || fail "4000 1-byte DATA frames reached the server as [$frames] frames, want 1..40"
echo "ok: 4000 1-byte DATA frames reached the server as $frames DATA frames"

step "a stream held at window 0 is reset after the stall timeout (2 s here), with an ERROR flow"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent --agent-arg=--http2-stream-stall-timeout-ms=2000
out=$(pod frontend/frontend "$PY" "$FLOOD" $BACKEND_H2 8080 stall 15)
echo "$out"
expect_contains "stalled stream reset with CANCEL" "reset 8 after " "$out"
secs=$(sed -n 's/^reset 8 after \([0-9.]*\)s.*/\1/p' <<<"$out")
python3 -c 'import sys; s = float(sys.argv[1]); sys.exit(0 if 2.0 <= s <= 6.0 else 1)' "$secs" || fail "reset after ${secs}s, want 2 to 6 s"
expect_contains "the response head came, no body byte" "status 200 body 0" "$out"
expect_flows "ERROR response flow of the stalled stream" 1 'f["l7"]["type"]=="RESPONSE" and f["verdict"]=="ERROR" and http["url"].endswith("/bytes/1000000")'
expect_contains "its reason" "(GET http://$BACKEND_H2/bytes/1000000) downstream ETIMEDOUT" "$("$SLUICE" observe -t l7 --last 50)"
expect_eq "the connection and others go on" 200 "$(pod frontend/frontend curl -s -m 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}' $H2/allowed/after-stall)"
expect_eq "agent still running" 0 "$(kill -0 "$(agent_pid)" && echo 0 || echo 1)"
