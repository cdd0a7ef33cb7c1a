# The sandbox's https servers and CA (docs/policy.md "TLS in the sandbox") under serverNames rules:
# `sandbox up` makes a CA at /run/sluice/sandbox/tls/ca.crt and, for every host with an `https`
# server, a certificate for its names, and writes the agent's secrets; a pod reads the CA as root.
# Real clients: curl --cacert (the certificate verifies, no -k) to httpbin over TLS (gunicorn) in
# a pod and on a world host. An allowed SNI gets 200 from httpbin through the untouched splice; a
# denied SNI (curl exit 35) and an IP-literal request (no SNI) are reset with a DROPPED flow and
# never reach the server. `sandbox down` removes the CA and the secrets.
source "$(dirname "$0")/../lib.sh"
DIR=$(mktemp -d)
trap 'cleanup; rm -rf "$DIR"' EXIT
TLS=/run/sluice/sandbox/tls
SECRETS=/run/sluice/secrets
CA=$TLS/ca.crt
BACKEND_NAME=backend.backend.svc.cluster.local

frontend_backend_topology "$DIR/topology.yaml" '["https:443"]'
cat >>"$DIR/topology.yaml" <<'YAML'
world:
  - name: api.example.com
    addresses: [192.0.2.10]
    servers: ["https:443"]
YAML
cat >"$DIR/policy.yaml" <<YAML
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
      - port: "443"
        protocol: TCP
      serverNames: [$BACKEND_NAME]
  - toCIDR: [192.0.2.10/32]
    toPorts:
    - ports:
      - port: "443"
        protocol: TCP
      serverNames: [api.example.com]
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
YAML

sandbox_up "$DIR/topology.yaml"
ip=$(python3 -c 'import json; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0])')
log=$(python3 -c 'import json; print([s["logPath"] for s in json.load(open("/run/sluice/sandbox/state.json"))["servers"] if s["owner"] == "backend/backend"][0])')
world_log=$(python3 -c 'import json; print([s["logPath"] for s in json.load(open("/run/sluice/sandbox/state.json"))["servers"] if s["owner"] == "world/api.example.com"][0])')

step "the CA, the certificates and the agent's secrets"
ca_text=$(openssl x509 -in "$CA" -noout -text) || fail "no readable CA at $CA"
expect_contains "the CA's key is ECDSA P-256" "ASN1 OID: prime256v1" "$ca_text"
expect_contains "the CA is a CA" "CA:TRUE" "$ca_text"
for secret in backend/backend-tls world/api.example.com-tls; do
  expect_eq "$secret holds tls.crt and tls.key" "tls.crt tls.key" "$(ls "$SECRETS/$secret" | xargs)"
  expect_eq "$secret/tls.crt verifies against the CA" "$SECRETS/$secret/tls.crt: OK" \
    "$(openssl verify -CAfile "$CA" "$SECRETS/$secret/tls.crt")"
  expect_eq "$secret/tls.key is root's only" 600 "$(stat -c %a "$SECRETS/$secret/tls.key")"
done
expect_eq "kube-system/sandbox-ca/ca.crt is the CA" "$(sha256sum <"$CA")" \
  "$(sha256sum <"$SECRETS/kube-system/sandbox-ca/ca.crt")"
expect_eq "the secrets directory is root's only" 700 "$(stat -c %a "$SECRETS")"
expect_contains "the pod's certificate names" "DNS:$BACKEND_NAME, DNS:backend.backend.svc, DNS:backend.backend, DNS:backend, IP Address:$ip" \
  "$(openssl x509 -in "$SECRETS/backend/backend-tls/tls.crt" -noout -ext subjectAltName)"
expect_eq "a pod reads the CA as root (/run/sluice is $(stat -c %a /run/sluice))" "$(sha256sum <"$CA")" \
  "$(pod frontend/frontend sh -c "sha256sum <$CA")"

step "no policy yet: verified HTTPS by name and by address"
code() { CURL_TIMEOUT=5 http_code frontend/frontend --cacert "$CA" "$@"; }
expect_eq "https://$BACKEND_NAME/status/200" 200 "$(code "https://$BACKEND_NAME/status/200")"
expect_eq "https://$ip/status/200 (an IP SAN)" 200 "$(code "https://$ip/status/200")"
expect_eq "https://api.example.com/status/200" 200 "$(code https://api.example.com/status/200)"
body=$(pod frontend/frontend curl -s -m 5 --cacert "$CA" "https://$BACKEND_NAME/anything/before-policy")
expect_contains "httpbin answers over TLS" "\"url\":\"https://$BACKEND_NAME/anything/before-policy\"" "$body"

apply "$DIR/policy.yaml"
ready() { [ "$(code --resolve ready.example.test:443:192.0.2.10 https://ready.example.test/)" = "000 (curl exit 35)" ]; }
wait_until "the serverNames policy is in force (a name outside it is reset)" ready

step "allowed SNI: 200 from httpbin through the splice, certificate verified"
expect_eq "https://$BACKEND_NAME/anything/allowed-sni" 200 "$(code "https://$BACKEND_NAME/anything/allowed-sni")"
expect_eq "https://api.example.com/anything/allowed-sni" 200 "$(code https://api.example.com/anything/allowed-sni)"
expect_flows "FORWARDED TLS flows naming the pod's SNI" 1 \
  "f['verdict']=='FORWARDED' and http.get('protocol')=='TLS' and http['url']=='https://$BACKEND_NAME'"
expect_flows "FORWARDED TLS flows naming the world host" 1 \
  "f['verdict']=='FORWARDED' and http.get('protocol')=='TLS' and http['url']=='https://api.example.com'"
wait_until "httpbin logged the allowed request" grep -q "/anything/allowed-sni" "$log"

step "denied SNI: reset (curl exit 35), a DROPPED flow with the SNI, never at httpbin"
expect_denied "backend.backend (a name of the certificate, not of the rule)" 35 "" \
  "f['verdict']=='DROPPED' and http.get('protocol')=='TLS' and http['url']=='https://backend.backend'" \
  pod frontend/frontend curl -s -o /dev/null -m 5 --cacert "$CA" https://backend.backend/anything/denied-sni
expect_denied "evil.example.test on the world host's address" 35 "" \
  "f['verdict']=='DROPPED' and http['url']=='https://evil.example.test' and pol(f, 'egress_denied_by')=='frontend-https'" \
  pod frontend/frontend curl -s -o /dev/null -m 5 --cacert "$CA" --resolve evil.example.test:443:192.0.2.10 \
  https://evil.example.test/anything/denied-sni
summary=$("$SLUICE" observe --all --verdict DROPPED) || fail "sluice observe failed"
expect_contains "sluice observe shows the denied SNI" "TLS https://evil.example.test" "$summary"
expect_unseen "denied requests never reached the pod's httpbin" "$log" "denied-sni" "allowed-sni"
expect_unseen "denied requests never reached the world's httpbin" "$world_log" "denied-sni" "allowed-sni"

step "IP-literal HTTPS (no SNI) under a serverNames rule: dropped"
no_sni="f['verdict']=='DROPPED' and http.get('protocol')=='TLS' and http['url']=='https://'"
expect_denied "https://$ip/anything/ip-literal" 35 "" "$no_sni" \
  pod frontend/frontend curl -s -o /dev/null -m 5 --cacert "$CA" "https://$ip/anything/ip-literal"
expect_flows "exactly one DROPPED TLS flow without SNI" 1 "$no_sni"
expect_unseen "the IP-literal request never reached httpbin" "$log" "ip-literal" "allowed-sni"

step "sandbox down removes the CA and the secrets"
"$SLUICE" sandbox down >/dev/null
expect_eq "no $TLS" absent "$([ -e "$TLS" ] && echo present || echo absent)"
for secret in backend/backend-tls world/api.example.com-tls kube-system/sandbox-ca; do
  expect_eq "no $SECRETS/$secret" absent "$([ -e "$SECRETS/$secret" ] && echo present || echo absent)"
done
