# TLS interception leftovers (issue 16, docs/policy.md "TLS interception") with the sandbox's
# HTTPS servers and real clients:
# - ALPN follows the upstream: the backend's httpbin (`https:443`) speaks HTTP/1.1 only, so
#   curl by default, with --http1.1 and with --http2 all get HTTP/1.1 through the proxy with
#   per-request verdicts (200 / 403) and flows; nghttp and `openssl s_client -alpn h2` (h2 or
#   nothing) fail the handshake with the no_application_protocol alert and an ERROR flow saying
#   why; the h2-only server (`h2-tls:8443`) gets h2 from curl by default and from nghttp,
#   with per-stream verdicts.
# - terminatingTLS only (TLS in, plain out): h2 goes upstream as h2c, so the proxy selects h2
#   only for an upstream that speaks h2c. curl by default (offering h2) gets HTTP/1.1 to a plain
#   httpbin (`httpbin:8080`) and h2 to the h2c server (`h2c:8081`), per-request verdicts.
# - One certificate per SNI on a port: a second rule on 443 with serverNames [alt.test] and its
#   own secret serves alt.test's certificate, the backend's name keeps its own.
# - A secret missing when the agent restores its policies: `sluice status` names it, that rule's
#   connections are reset with an ERROR flow, the other rules keep working; when the files come
#   back they are read again.
# - A client that closes mid-ClientHello, or sends no ClientHello, leaves an ERROR flow.
source "$(dirname "$0")/../lib.sh"
DIR=$(mktemp -d)
SECRETS=/run/sluice/secrets
CA=/run/sluice/sandbox/tls/ca.crt
trap 'cleanup; rm -rf "$DIR"' EXIT
BACKEND=backend.backend.svc.cluster.local

frontend_backend_topology "$DIR/topology.yaml" '["https:443", "h2-tls:8443", "httpbin:80", "httpbin:8080", "h2c:8081"]'

cat >"$DIR/policy.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-tls
  namespace: frontend
spec:
  endpointSelector:
    matchLabels:
      app: frontend
  egress:
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: backend
    toPorts:
    - ports:
      - port: "443"
        protocol: TCP
      serverNames: ["backend.backend.svc.cluster.local"]
      terminatingTLS:
        secret: {namespace: backend, name: backend-tls}
      originatingTLS:
        secret: {namespace: kube-system, name: sandbox-ca}
      rules:
        http:
        - method: GET
          path: "/get"
        - method: GET
          path: "/anything/.*"
    - ports:
      - port: "443"
        protocol: TCP
      serverNames: ["alt.test"]
      terminatingTLS:
        secret: {namespace: backend, name: alt-tls}
      originatingTLS:
        secret: {namespace: kube-system, name: sandbox-ca}
      rules:
        http:
        - method: GET
          path: "/get"
    - ports:
      - port: "8443"
        protocol: TCP
      terminatingTLS:
        secret: {namespace: backend, name: backend-tls}
      originatingTLS:
        secret: {namespace: kube-system, name: sandbox-ca}
      rules:
        http:
        - path: "/allowed.*"
    - ports:
      - port: "8080"
        protocol: TCP
      terminatingTLS:
        secret: {namespace: backend, name: backend-tls}
      rules:
        http:
        - method: GET
          path: "/anything/.*"
    - ports:
      - port: "8081"
        protocol: TCP
      terminatingTLS:
        secret: {namespace: backend, name: backend-tls}
      rules:
        http:
        - path: "/allowed.*"
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - method: GET
          path: "/get"
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
YAML

"$SLUICE" sandbox up "$DIR/topology.yaml"

# alt.test's certificate, from the sandbox CA, in the agent's secrets directory (as a secret
# backend/alt-tls); $1 is its subject's organisation, to tell two issues apart.
alt_secret() {
  mkdir -p "$SECRETS/backend/alt-tls"
  (
    cd "$DIR"
    openssl ecparam -name prime256v1 -genkey -noout -out alt.key
    openssl req -new -key alt.key -subj "/O=$1/CN=alt.test" -out alt.csr
    printf 'subjectAltName=DNS:alt.test\n' >alt.ext
    openssl x509 -req -in alt.csr -CA $CA -CAkey /run/sluice/sandbox/tls/ca.key -CAcreateserial -days 1 \
      -extfile alt.ext -out alt.crt
  ) 2>/dev/null
  [ -s "$DIR/alt.crt" ] || fail "openssl made no certificate for alt.test"
  cp "$DIR/alt.key" "$SECRETS/backend/alt-tls/tls.key.new"
  cp "$DIR/alt.crt" "$SECRETS/backend/alt-tls/tls.crt.new"
  mv "$SECRETS/backend/alt-tls/tls.key.new" "$SECRETS/backend/alt-tls/tls.key"
  mv "$SECRETS/backend/alt-tls/tls.crt.new" "$SECRETS/backend/alt-tls/tls.crt"
}
alt_secret first
apply "$DIR/policy.yaml"

ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')
# fetch CURL-ARGS...: "HTTP-VERSION CODE" of a curl through the proxy (trusting the sandbox CA).
fetch() { pod frontend/frontend curl -s -m 5 -o /dev/null -w '%{http_version} %{http_code}' --cacert $CA "$@" || true; }
ready() { [ "$(fetch "https://$BACKEND/get")" = "1.1 200" ]; }
wait_until "the policy is in force (an HTTPS GET /get through the proxy)" ready

step "ALPN follows the upstream: an HTTP/1.1-only upstream gets HTTP/1.1 from every curl, per-request verdicts"
for flags in "" "--http1.1" "--http2"; do
  name=${flags:-default}
  # shellcheck disable=SC2086
  expect_eq "curl ${flags:-(no flag)} GET /anything/$name" "1.1 200" "$(fetch $flags "https://$BACKEND/anything/$name")"
  # shellcheck disable=SC2086
  expect_eq "curl ${flags:-(no flag)} POST /anything/$name" "1.1 403" \
    "$(fetch $flags -X POST "https://$BACKEND/anything/$name")"
  expect_flows "curl ${flags:-(no flag)}: the FORWARDED HTTP/1.1 request flow" 1 \
    'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("method")=="GET" and http.get("url")=="https://'$BACKEND'/anything/'$name'" and http.get("protocol")=="HTTP/1.1"'
  expect_flows "curl ${flags:-(no flag)}: the DROPPED request flow" 1 \
    'f["verdict"]=="DROPPED" and l7.get("type")=="REQUEST" and http.get("method")=="POST" and http.get("url")=="https://'$BACKEND'/anything/'$name'"'
done
body=$(pod frontend/frontend curl -s -m 5 --cacert $CA "https://$BACKEND/anything/body")
expect_contains "httpbin's answer (curl's default, no --http1.1)" '"url"' "$body"
expect_absent "no 503 answered on 443" 'http.get("code")==503 and ":443" not in http.get("url","")' \
  'http.get("url")=="https://'$BACKEND'/anything/body"'
# A client offering only h2 has no protocol in common with an HTTP/1.1-only upstream: the
# handshake fails with the no_application_protocol alert, and an ERROR flow says why.
refused='f["verdict"]=="ERROR" and f.get("Summary")=="TLS https://'$BACKEND' downstream ENOPROTOOPT (ALPN: the client offers only h2, the upstream speaks HTTP/1.1)"'
out=$(pod frontend/frontend nghttp -v --timeout=5 "https://$BACKEND/get" 2>&1 || true)
case "$out" in *":status:"*) fail "nghttp (h2 only) got an answer from an HTTP/1.1-only upstream: $out" ;; esac
expect_flows "nghttp (h2 only): the refused handshake's ERROR flow" 1 "$refused"
out=$(pod frontend/frontend bash -c "echo | openssl s_client -connect $ip:443 -servername $BACKEND -alpn h2 -CAfile $CA 2>&1" || true)
expect_contains "openssl s_client -alpn h2 gets the no_application_protocol alert" "alert no application protocol" "$out"
expect_flows "openssl s_client -alpn h2: the second ERROR flow" 2 "$refused"

step "an h2 upstream: curl by default and nghttp get h2, per-stream verdicts"
expect_eq "curl GET /allowed on 8443" "2 200" "$(fetch "https://$BACKEND:8443/allowed/curl")"
expect_eq "curl GET /denied on 8443" "2 403" "$(fetch "https://$BACKEND:8443/denied/curl")"
# nghttp does not verify certificates; its verbose output shows each response's :status.
nghttp_status() { pod frontend/frontend nghttp -v --timeout=5 "https://$BACKEND:8443$1" 2>&1 | grep -o ':status: [0-9]*' | head -1; }
expect_eq "nghttp /allowed/nghttp" ":status: 200" "$(nghttp_status /allowed/nghttp)"
expect_eq "nghttp /denied/nghttp" ":status: 403" "$(nghttp_status /denied/nghttp)"
for client in curl nghttp; do
  expect_flows "$client: the allowed h2 stream's FORWARDED flow" 1 \
    'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://'$BACKEND':8443/allowed/'$client'"'
  expect_flows "$client: the denied h2 stream's DROPPED flow" 1 \
    'f["verdict"]=="DROPPED" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://'$BACKEND':8443/denied/'$client'"'
done

step "terminatingTLS only: curl by default gets HTTP/1.1 to a plain HTTP/1.1 upstream, h2 to an h2c one"
expect_eq "curl GET /anything/plain on 8080 (httpbin, plain)" "1.1 200" "$(fetch "https://$BACKEND:8080/anything/plain")"
expect_eq "curl POST /anything/plain on 8080" "1.1 403" "$(fetch -X POST "https://$BACKEND:8080/anything/plain")"
expect_eq "curl GET /anything/again on 8080 (the learned answer)" "1.1 200" "$(fetch "https://$BACKEND:8080/anything/again")"
expect_flows "8080: the FORWARDED HTTP/1.1 request flow" 1 \
  'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("url")=="https://'$BACKEND':8080/anything/plain" and http.get("protocol")=="HTTP/1.1"'
expect_flows "8080: the DROPPED request flow" 1 \
  'f["verdict"]=="DROPPED" and l7.get("type")=="REQUEST" and http.get("method")=="POST" and http.get("url")=="https://'$BACKEND':8080/anything/plain"'
expect_absent "no 503 on 8080" 'http.get("code")==503 and ":8080/" in http.get("url","")' \
  'http.get("url")=="https://'$BACKEND':8080/anything/again"'
expect_eq "curl GET /allowed on 8081 (h2c upstream)" "2 200" "$(fetch "https://$BACKEND:8081/allowed/h2c")"
expect_eq "curl GET /denied on 8081" "2 403" "$(fetch "https://$BACKEND:8081/denied/h2c")"
expect_flows "8081: the allowed h2 stream's FORWARDED flow" 1 \
  'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://'$BACKEND':8081/allowed/h2c"'
expect_flows "8081: the denied h2 stream's DROPPED flow" 1 \
  'f["verdict"]=="DROPPED" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://'$BACKEND':8081/denied/h2c"'

step "one certificate per SNI on one port"
cert_of() {
  pod frontend/frontend bash -c "echo | openssl s_client -connect $ip:443 -servername $1 -verify_hostname $1 -CAfile $CA 2>&1" || true
}
out=$(cert_of alt.test)
expect_contains "alt.test's certificate" "CN = alt.test" "$out"
expect_contains "alt.test verifies" "Verify return code: 0 (ok)" "$out"
out=$(cert_of $BACKEND)
expect_contains "the backend's certificate for its name" "CN = backend" "$out"
expect_contains "the backend's name verifies" "Verify return code: 0 (ok)" "$out"

step "a client that closes mid-ClientHello, or sends no ClientHello, leaves an ERROR flow"
pod frontend/frontend bash -c "exec 3<>/dev/tcp/$ip/443; printf '\x16\x03\x01\x02\x00\x01' >&3; exec 3>&-; sleep 0.2" || true
expect_flows "the client that closed mid-hello" 1 \
  'f["verdict"]=="ERROR" and f.get("Summary")=="TLS https:// downstream EOF"'
pod frontend/frontend bash -c "exec 3<>/dev/tcp/$ip/443; printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >&3; cat <&3 >/dev/null; exec 3>&-" || true
expect_flows "the client that spoke plain HTTP" 1 \
  'f["verdict"]=="ERROR" and f.get("Summary")=="TLS https:// downstream EPROTO"'

step "a secret missing when the agent restores its policies: status names it, that rule fails closed, the others stay"
pid=$(agent_pid)
"$SLUICE" sandbox stop-agent
running "$pid" && fail "agent still running"
rm -rf "$SECRETS/backend/alt-tls"
"$SLUICE" sandbox start-agent
[ "$(agent_pid)" != "$pid" ] || fail "the agent was not restarted"
wait_until "the restored policy is in force" ready
status=$("$SLUICE" status)
expect_contains "sluice status" "error: TLS secret \"backend/alt-tls\" (terminatingTLS of ciliumnetworkpolicy.cilium.io/frontend/frontend-tls): $SECRETS/backend/alt-tls/tls.crt is missing" "$status"
out=$(cert_of alt.test)
case "$out" in *"CN = alt.test"*) fail "alt.test was served a certificate whose secret is gone" ;; esac
expect_flows "the refused alt.test connection's ERROR flow" 1 \
  'f["verdict"]=="ERROR" and f.get("Summary")=="TLS https://alt.test downstream ENOENT (TLS secret missing)"'
expect_eq "the backend's name on the same port still works" "1.1 200" "$(fetch "https://$BACKEND/get")"
expect_eq "plain HTTP rule on 80 still works" "200" "$(http_code frontend/frontend "http://$BACKEND/get")"
expect_eq "and still denies" "403" "$(http_code frontend/frontend "http://$BACKEND/anything")"

step "the secret comes back: it is read again, status is clean"
alt_secret second
alt_served() { cert_of alt.test | grep -q "O = second, CN = alt.test"; }
wait_until "alt.test's new certificate is served" alt_served
status=$("$SLUICE" status)
case "$status" in *"TLS secret"*) fail "status still names a secret: $status" ;; esac
echo "PASS"
