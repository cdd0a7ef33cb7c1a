# The TLS walkthrough of README "TLS" and docs/policy.md "TLS in the sandbox", command for
# command, with the files the docs name (proxy-config/sandbox/tls.yaml and the two example
# policies in proxy-config/examples/tls/): verified HTTPS without policy; serverNames without
# decryption (an allowed name 200, a denied one curl exit 35 and `sluice observe --verdict
# DROPPED` showing it); then interception (terminatingTLS + originatingTLS): GET /get 200,
# GET /post 403 "Access denied" inside the TLS session, the DROPPED request flow with its https://
# URL; and `sandbox down`. A step of the docs that stops working fails here.
source "$(dirname "$0")/../lib.sh"
trap 'cleanup' EXIT
CA=/run/sluice/sandbox/tls/ca.crt
BACKEND=backend.backend.svc.cluster.local
EXAMPLES="$ROOT/proxy-config/examples/tls"

step "sluice sandbox up proxy-config/sandbox/tls.yaml"
"$SLUICE" sandbox up "$ROOT/proxy-config/sandbox/tls.yaml"

step "no policy: verified HTTPS to the backend pod and to api.example.com"
body=$(pod frontend/frontend curl -s -m 5 --cacert $CA "https://$BACKEND/get") || fail "curl https://$BACKEND/get"
expect_contains "the backend's httpbin answers" "\"url\":\"https://$BACKEND/get\"" "$body"
body=$(pod frontend/frontend curl -s -m 5 --cacert $CA https://api.example.com/get) || fail "curl https://api.example.com/get"
expect_contains "api.example.com's httpbin answers" '"url":"https://api.example.com/get"' "$body"

step "sluice apply -f proxy-config/examples/tls/sni-egress.yaml (serverNames, no decryption)"
apply "$EXAMPLES/sni-egress.yaml"
evil() { CURL_TIMEOUT=5 http_code frontend/frontend --cacert $CA --resolve evil.example.com:443:192.0.2.10 https://evil.example.com/; }
sni_ready() { [ "$(evil)" = "000 (curl exit 35)" ]; }
wait_until "the serverNames policy is in force (evil.example.com is reset)" sni_ready
expect_eq "https://api.example.com/get" 200 "$(CURL_TIMEOUT=5 http_code frontend/frontend --cacert $CA https://api.example.com/get)"
expect_eq "https://evil.example.com/ (curl exit 35)" "000 (curl exit 35)" "$(evil)"
await_flows 1 'f["verdict"]=="DROPPED" and http["url"]=="https://evil.example.com"' >/dev/null
out=$("$SLUICE" observe --verdict DROPPED) || fail "sluice observe --verdict DROPPED"
expect_contains "sluice observe --verdict DROPPED" "TLS https://evil.example.com" "$out"

step "sluice apply -f proxy-config/examples/tls/intercept-egress.yaml (terminatingTLS + originatingTLS)"
"$SLUICE" delete -f "$EXAMPLES/sni-egress.yaml"
apply "$EXAMPLES/intercept-egress.yaml"
code() { CURL_TIMEOUT=5 http_code frontend/frontend --cacert $CA "$@"; }
intercepted() { [ "$(code "https://$BACKEND/status/418")" = 403 ]; }
wait_until "the interception policy is in force (GET /status/418 is denied)" intercepted
expect_eq "GET https://$BACKEND/get" 200 "$(code "https://$BACKEND/get")"
body=$(pod frontend/frontend curl -s -m 5 --cacert $CA "https://$BACKEND/post")
expect_contains "GET /post: the 403 body inside the TLS session" "Access denied" "$body"
expect_eq "GET https://api.example.com/get" 200 "$(code https://api.example.com/get)"
expect_eq "GET https://api.example.com/anything/x (only /get there)" 403 "$(code https://api.example.com/anything/x)"
expect_flows "the denied request's DROPPED flow with its https:// URL" 1 \
  'f["verdict"]=="DROPPED" and l7.get("type")=="REQUEST" and http.get("url")=="https://'$BACKEND'/post"'
out=$("$SLUICE" observe --verdict DROPPED) || fail "sluice observe --verdict DROPPED"
expect_contains "sluice observe shows it" "https://$BACKEND/post" "$out"

step "sluice sandbox down"
"$SLUICE" sandbox down >/dev/null
expect_eq "the CA is gone" absent "$([ -e $CA ] && echo present || echo absent)"
echo "PASS"
