# TLS interception (docs/policy.md "TLS interception") with real clients and servers: the frontend
# reaches the backend's HTTPS ports through terminatingTLS (the proxy presents a certificate for
# web.test from a CA made here) and originatingTLS (the proxy trusts only that CA upstream).
# curl --cacert: an allowed path 200 (the upstream saw the client's SNI), a denied path 403
# "Access denied", flows with https:// URLs; curl --http2 gets per-stream verdicts; a grpcio
# client over TLS gets PERMISSION_DENIED for a denied method; `openssl s_client -alpn h2` shows
# h2; an upstream whose certificate the CA did not sign gives 503 and a flow saying why; a policy
# naming a missing secret is an apply error naming it.
source "$(dirname "$0")/../lib.sh"
DIR=$(mktemp -d)
PIDS=()
SECRETS=/run/sluice/secrets
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup; rm -rf "$DIR" "$SECRETS/backend/web-tls" "$SECRETS/kube-system/test-ca"' EXIT
PY="$ROOT/.venv/bin/python3"

step "a CA, a certificate for web.test signed by it, and a self-signed one nobody trusts (ECDSA P-256)"
(
  cd "$DIR"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -subj /CN=sluice-test-ca -days 1 -out ca.crt
  openssl ecparam -name prime256v1 -genkey -noout -out tls.key
  openssl req -new -key tls.key -subj /CN=web.test -out tls.csr
  printf 'subjectAltName=DNS:web.test\n' >ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out tls.crt
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=web.test \
    -addext subjectAltName=DNS:web.test -keyout bad.key -out bad.crt
) 2>/dev/null
[ -s "$DIR/tls.crt" ] && [ -s "$DIR/bad.crt" ] || fail "openssl made no certificates"
chmod 0755 "$DIR"
chmod 0644 "$DIR"/*

frontend_backend_topology "$DIR/topology.yaml"
policy() {
  cat <<YAML
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-https
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
      - port: "9443"
        protocol: TCP
      terminatingTLS:
        secret: {namespace: backend, name: $1}
      originatingTLS:
        secret: {namespace: kube-system, name: test-ca}
      rules:
        http:
        - method: GET
          path: "/allowed.*"
    - ports:
      - port: "50443"
        protocol: TCP
      terminatingTLS:
        secret: {namespace: backend, name: $1}
      originatingTLS:
        secret: {namespace: kube-system, name: test-ca}
      rules:
        http:
        - path: "/grpc.health.v1.Health/Check"
YAML
}
policy web-tls >"$DIR/policy.yaml"
policy nope >"$DIR/missing.yaml"

cat >"$DIR/grpc_tls.py" <<'PY'
"""grpcio health service over TLS (server), or a client calling Check / Watch through it."""
import sys
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

if sys.argv[1] == "serve":
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    creds = grpc.ssl_server_credentials([(open(sys.argv[3], "rb").read(), open(sys.argv[2], "rb").read())])
    server.add_secure_port("0.0.0.0:50443", creds)
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()
else:
    _, call, target, ca = sys.argv
    creds = grpc.ssl_channel_credentials(open(ca, "rb").read())
    channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "web.test")])
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        if call == "check":
            print("OK", health_pb2.HealthCheckResponse.ServingStatus.Name(stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status))
        else:
            for r in stub.Watch(health_pb2.HealthCheckRequest(), timeout=5):
                print("OK", r.status)
                break
    except grpc.RpcError as e:
        print("ERROR", e.code().name, e.details())
        sys.exit(2)
PY

"$SLUICE" sandbox up "$DIR/topology.yaml"
step "secrets in the agent's secrets directory ($SECRETS)"
mkdir -p "$SECRETS/backend/web-tls" "$SECRETS/kube-system/test-ca"
cp "$DIR/tls.crt" "$DIR/tls.key" "$SECRETS/backend/web-tls/"
cp "$DIR/ca.crt" "$SECRETS/kube-system/test-ca/ca.crt"

"$SLUICE" sandbox exec backend/backend -- /usr/bin/python3 -u "$ROOT/integration/servers/tls_sni_server.py" \
  --listen 0.0.0.0:8443 --cert "$DIR/tls.crt" --key "$DIR/tls.key" >"$DIR/good.log" 2>&1 &
PIDS+=($!)
"$SLUICE" sandbox exec backend/backend -- /usr/bin/python3 -u "$ROOT/integration/servers/tls_sni_server.py" \
  --listen 0.0.0.0:9443 --cert "$DIR/bad.crt" --key "$DIR/bad.key" >"$DIR/bad.log" 2>&1 &
PIDS+=($!)
"$SLUICE" sandbox exec backend/backend -- "$PY" -u "$DIR/grpc_tls.py" serve "$DIR/tls.crt" "$DIR/tls.key" >"$DIR/grpc.log" 2>&1 &
PIDS+=($!)
wait_until "the TLS servers listen" grep -q "listening on" "$DIR/good.log"
wait_until "the untrusted server listens" grep -q "listening on" "$DIR/bad.log"
wait_until "the grpc server listens" grep -q "listening" "$DIR/grpc.log"
ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')

step "a policy naming a missing secret is an apply error naming it"
out=$(expect_status "apply with secret backend/nope" 1 "$SLUICE" apply -f "$DIR/missing.yaml" 2>&1)
expect_contains "the error names the secret and the file it needs" \
  "secret \"backend/nope\" not found (terminatingTLS needs $SECRETS/backend/nope/tls.crt)" "$out"

apply "$DIR/policy.yaml"
# The python TLS servers speak HTTP/1.1 only (no ALPN): curl offers h2 by default, and the proxy
# selects http/1.1 for it because the upstream did (docs/policy.md "ALPN follows the upstream").
https() { CURL_TIMEOUT=5 http_code frontend/frontend --cacert "$DIR/ca.crt" --resolve "web.test:$1:$ip" "https://web.test:$1$2"; }
ready() { [ "$(https 8443 /allowed)" = 200 ]; }
if ! ready; then
  # Diagnostics for a failure below: what curl, the server and the flows say.
  pod frontend/frontend curl -sv -m 5 --cacert "$DIR/ca.crt" --resolve "web.test:8443:$ip" https://web.test:8443/allowed 2>&1 | tail -25 || true
  cat "$DIR/good.log"
  "$SLUICE" observe --all | tail -5 || true
  ls /run/sluice/sandbox/ || true
  tail -20 /run/sluice/sandbox/*.log 2>/dev/null || true
fi
wait_until "an allowed HTTPS request goes through once the policy is in force" ready

step "curl --cacert: allowed path 200 (the upstream saw the client's SNI), denied path 403 Access denied"
expect_eq "GET /allowed/x" 200 "$(https 8443 /allowed/x)"
body=$(pod frontend/frontend curl -s -m 5 --cacert "$DIR/ca.crt" --resolve "web.test:8443:$ip" https://web.test:8443/allowed/y)
expect_eq "the upstream's answer" "ok web.test" "$body"
expect_eq "GET /secret" 403 "$(https 8443 /secret)"
body=$(pod frontend/frontend curl -s -m 5 --cacert "$DIR/ca.crt" --resolve "web.test:8443:$ip" https://web.test:8443/secret)
expect_contains "the 403 body" "Access denied" "$body"
expect_flows "a FORWARDED https request flow" 1 \
  'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("url")=="https://web.test:8443/allowed/y"'
expect_flows "a DROPPED https request flow" 2 \
  'f["verdict"]=="DROPPED" and l7.get("type")=="REQUEST" and http.get("url")=="https://web.test:8443/secret"'
expect_unseen "the denied path never reached the server" "$DIR/good.log" "sni=-" "sni=web.test"

step "openssl s_client -alpn h2: the proxy's certificate verifies and h2 is negotiated"
out=$(pod frontend/frontend bash -c "echo | openssl s_client -connect $ip:50443 -servername web.test -alpn h2 -CAfile $DIR/ca.crt 2>&1")
expect_contains "ALPN" "ALPN protocol: h2" "$out"
expect_contains "verification" "Verify return code: 0 (ok)" "$out"

step "curl --http2: per-stream verdicts on one TLS connection"
codes=$(pod frontend/frontend curl -s -m 5 --http2 --cacert "$DIR/ca.crt" --resolve "web.test:50443:$ip" \
  -o /dev/null -o /dev/null -w '%{http_version} %{http_code}\n' \
  https://web.test:50443/denied https://web.test:50443/grpc.health.v1.Health/Check)
echo "$codes"
expect_eq "the denied stream" "2 403" "$(echo "$codes" | head -1)"
# The allowed stream reaches the grpc server over h2+TLS; a plain GET is no gRPC call, and the
# server resets it (the proxy answers a reset before headers with 503): not the policy's 403.
expect_eq "the allowed stream (forwarded, reset by the grpc server)" "2 503" "$(echo "$codes" | sed -n 2p)"
expect_flows "the denied h2 stream's DROPPED flow" 1 \
  'f["verdict"]=="DROPPED" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://web.test:50443/denied"'
expect_flows "the allowed h2 stream's FORWARDED flow" 1 \
  'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("protocol")=="HTTP/2" and http.get("url")=="https://web.test:50443/grpc.health.v1.Health/Check"'

step "grpcio over TLS: Check allowed, Watch PERMISSION_DENIED"
expect_eq "Check" "OK SERVING" "$(pod frontend/frontend "$PY" "$DIR/grpc_tls.py" check "$ip:50443" "$DIR/ca.crt")"
out=$(expect_status "Watch" 2 pod frontend/frontend "$PY" "$DIR/grpc_tls.py" watch "$ip:50443" "$DIR/ca.crt")
expect_eq "Watch status" "ERROR PERMISSION_DENIED Access denied" "$(echo "$out" | tr -d '\r' | head -1)"

step "an upstream certificate the trusted CA did not sign: 503 and a flow saying why"
expect_eq "GET /allowed on 9443" 503 "$(https 9443 /allowed)"
expect_flows "the 503 response flow names the upstream's certificate failure" 1 \
  'http.get("code")==503 and http.get("url")=="https://web.test:9443/allowed" and "upstream EKEYREJECTED (TLS certificate not verified)" in str(f)'
