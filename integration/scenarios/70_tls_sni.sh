# serverNames (TLS SNI) rules without decryption (docs/policy.md "TLS server names"), with curl
# and a real TLS server (python ssl, a self-signed certificate made here by openssl): the
# frontend may reach the backend's 8443 only for allowed.example.test and **.good.test. An
# allowed SNI completes the handshake (200, the server saw the name; a FORWARDED TLS flow); a
# denied SNI is reset (curl exit 35) with a DROPPED flow naming it and never reaches the server;
# an IP-literal HTTPS request (no SNI) is dropped the same way; a plain-HTTP request is dropped.
source "$(dirname "$0")/../lib.sh"
DIR=$(mktemp -d)
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true; cleanup; rm -rf "$DIR"' EXIT
PY=/usr/bin/python3

step "a self-signed certificate for the server"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=allowed.example.test" \
  -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
[ -s "$DIR/tls.crt" ] || fail "openssl made no certificate"

frontend_backend_topology "$DIR/topology.yaml"
cat >"$DIR/policy.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-tls-names
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
      - port: "8443"
        protocol: TCP
      serverNames:
      - allowed.example.test
      - "**.good.test"
YAML

"$SLUICE" sandbox up "$DIR/topology.yaml"
"$SLUICE" sandbox exec backend/backend -- "$PY" -u "$ROOT/integration/servers/tls_sni_server.py" \
  --listen 0.0.0.0:8443 --cert "$DIR/tls.crt" --key "$DIR/tls.key" >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
wait_until "the TLS server listens" grep -q "listening on" "$DIR/server.log"
ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')
apply "$DIR/policy.yaml"

# tls_code NAME: curl to https://NAME:8443/ resolved to the backend; prints the code or "000 (curl exit N)".
tls_code() { CURL_TIMEOUT=5 http_code frontend/frontend -k --resolve "$1:8443:$ip" "https://$1:8443/"; }
ready() { [ "$(tls_code allowed.example.test)" = 200 ]; }
wait_until "an allowed SNI goes through once the policy is in force" ready

step "allowed SNI: the handshake completes, 200, a FORWARDED TLS flow"
expect_eq "allowed.example.test" 200 "$(tls_code allowed.example.test)"
expect_eq "ALLOWED.Example.TEST (case-insensitive)" 200 "$(tls_code ALLOWED.Example.TEST)"
expect_eq "a.b.good.test (**.good.test)" 200 "$(tls_code a.b.good.test)"
expect_flows "FORWARDED TLS flows for a.b.good.test" 1 \
  'f["verdict"]=="FORWARDED" and http.get("protocol")=="TLS" and http["url"]=="https://a.b.good.test"'
wait_until "the server saw the allowed name" grep -q "handshake sni=a.b.good.test" "$DIR/server.log"

step "denied SNI: reset (curl exit 35), a DROPPED flow naming the SNI, never at the server"
expect_denied "evil.example.test" 35 "" \
  'f["verdict"]=="DROPPED" and http.get("protocol")=="TLS" and http["url"]=="https://evil.example.test"' \
  pod frontend/frontend curl -sk -o /dev/null -m 5 --resolve "evil.example.test:8443:$ip" https://evil.example.test:8443/
expect_denied "good.test (** needs a label)" 35 "" \
  'f["verdict"]=="DROPPED" and http["url"]=="https://good.test"' \
  pod frontend/frontend curl -sk -o /dev/null -m 5 --resolve "good.test:8443:$ip" https://good.test:8443/
expect_flows "the DROPPED flow names the policy and the reason" 1 \
  'f["verdict"]=="DROPPED" and http["url"]=="https://evil.example.test" and pol(f, "egress_denied_by")=="frontend-tls-names" and any(h.get("value")=="no-rule-matched" for h in http.get("headers", []))'
summary=$("$SLUICE" observe --all --verdict DROPPED) || fail "sluice observe failed"
expect_contains "sluice observe shows the SNI" "TLS https://evil.example.test" "$summary"
expect_unseen "denied names never reached the server" "$DIR/server.log" "sni=evil.example.test" "sni=allowed.example.test"

step "IP-literal HTTPS (no SNI) under a serverNames rule: dropped"
no_sni='f["verdict"]=="DROPPED" and http.get("protocol")=="TLS" and http["url"]=="https://"'
expect_denied "https://$ip:8443/" 35 "" "$no_sni" \
  pod frontend/frontend curl -sk -o /dev/null -m 5 "https://$ip:8443/"
expect_flows "one DROPPED TLS flow without SNI" 1 "$no_sni"
expect_unseen "no handshake without SNI reached the server" "$DIR/server.log" "sni=-" "sni=allowed.example.test"

step "plain HTTP to the serverNames port: not TLS, reset, dropped"
expect_status "http://$ip:8443/ is reset" 56 pod frontend/frontend curl -s -o /dev/null -m 5 "http://$ip:8443/" >/dev/null
expect_flows "a second DROPPED TLS flow without SNI" 2 "$no_sni"
