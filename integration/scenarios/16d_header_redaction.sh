# Hubble's redaction of HTTP flows (issue 15): request flows carry the request's headers in
# `l7.http.headers` (Hubble's canonical keys, sorted; no Host), with --hubble-redact-enabled and
# --hubble-redact-http-headers-deny the denied headers' values are HUBBLE_REDACTED in the ring
# itself (observe and the export file alike), --hubble-redact-http-urlquery cuts the query off
# the url and --hubble-redact-http-userinfo hides a password; --hubble-export-fieldmask keeps only
# the named fields of each exported flow. `--print-policy-names` names the allowing policy.
source "$(dirname "$0")/../lib.sh"
EXPORT_DIR=/run/sluice/export-16d
EXPORT=$EXPORT_DIR/flows.json
rm -rf "$EXPORT_DIR"
"$SLUICE" sandbox up "$TOPO" \
  --agent-arg=--hubble-redact-enabled \
  --agent-arg=--hubble-redact-http-urlquery \
  --agent-arg=--hubble-redact-http-userinfo \
  --agent-arg=--hubble-redact-http-headers-deny=Authorization,X-Secret \
  "--agent-arg=--hubble-export-file-path=$EXPORT" \
  '--agent-arg=--hubble-export-allowlist={"destination_pod":["backend/"]}' \
  --agent-arg=--hubble-export-fieldmask=time,verdict,source.namespace,l7.http
trap 'rm -rf "$EXPORT_DIR"; cleanup' EXIT
policy=$(mktemp --suffix .yaml)
cat > "$policy" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend-l7-16d, namespace: backend}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http: [{method: GET}]
YAML
apply "$policy"
rm -f "$policy"

step "a request's headers are in its flow, the denied ones and the query redacted"
expect_eq "GET with headers and a query" 200 "$(http_code frontend/frontend \
  -H 'Authorization: Bearer s3cret-token' -H 'X-Secret: hunter2' -H 'X-Trace: visible-1' \
  -A 'curl-16d' "$BACKEND/get?token=s3cret-query")"
req='l7.get("type") == "REQUEST" and "/get" in http.get("url", "") and f["destination"].get("pod_name") == "backend"'
await_flows 1 "$req" >/dev/null
line=$(flows_json --to-pod backend/ --http-path /get | python3 -c '
import json, sys
for l in sys.stdin:
    f = json.loads(l)["flow"]
    if f.get("l7", {}).get("type") == "REQUEST":
        print(json.dumps(f["l7"]["http"], sort_keys=True)); break')
echo "$line"
headers() { python3 -c 'import json,sys; h=json.loads(sys.argv[1])["headers"]; print(";".join("%s=%s" % (x["key"], x["value"]) for x in h))' "$line"; }
expect_contains "request headers" "Authorization=HUBBLE_REDACTED" "$(headers)"
expect_contains "request headers" "X-Secret=HUBBLE_REDACTED" "$(headers)"
expect_contains "request headers" "X-Trace=visible-1" "$(headers)"
expect_contains "request headers" "User-Agent=curl-16d" "$(headers)"
expect_contains "request headers" "Accept=*/*" "$(headers)"
url=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$line")
expect_eq "url without its query" "http://backend.backend.svc.cluster.local/get" "$url"
keys=$(python3 -c 'import json,sys; print(",".join(x["key"] for x in json.loads(sys.argv[1])["headers"] if not x["key"].startswith(":")))' "$line")
expect_eq "keys sorted, no Host" "$(echo "$keys" | tr , '\n' | sort | paste -sd,)" "$keys"
case ",$keys," in *,Host,*) fail "Host recorded: $keys" ;; esac
# No reader sees the secrets: not observe, not the export file (redacted in the ring).
"$SLUICE" observe --all -o json | grep -q 's3cret\|hunter2' && fail "a redacted value is in observe's output"
echo "ok: no redacted value in the flow ring"
expect_eq "--http-header matches a recorded header" 1 \
  "$(count_flows "$req" --http-header X-Trace:visible-1)"

step "a password in the URL's userinfo is hidden"
# curl moves userinfo into an Authorization header, so the absolute-form request is sent raw.
pod frontend/frontend python3 -c '
import socket
s = socket.create_connection(("backend.backend.svc.cluster.local", 80), timeout=5)
s.sendall(b"GET http://bob:pa55word@backend.backend.svc.cluster.local/get HTTP/1.1\r\n"
          b"Host: backend.backend.svc.cluster.local\r\nConnection: close\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
'
await_flows 1 'l7.get("type") == "REQUEST" and "bob:HUBBLE_REDACTED@" in http.get("url", "")' >/dev/null
"$SLUICE" observe --all -o json | grep -q 'pa55word' && fail "the userinfo password is in observe's output"
echo "ok: userinfo password is HUBBLE_REDACTED"

step "the export file holds the masked fields only"
deadline=$((SECONDS + 10))
until grep -q '"X-Trace"' "$EXPORT" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no exported request flow with headers: $(head -c 600 "$EXPORT" 2>/dev/null)"
  sleep 0.2  # poll interval (deadline above)
done
python3 - "$EXPORT" <<'PY' || fail "export field mask"
import json, sys
seen = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "flow" not in o:
        continue
    f = o["flow"]
    extra = set(f) - {"time", "verdict", "source", "l7"}
    assert not extra, ("fields outside the mask", extra, line)
    assert set(f.get("source", {})) <= {"namespace"}, line
    assert set(f.get("l7", {})) <= {"http"}, line
    assert "node_name" not in o, line
    if "X-Trace" in line:
        assert "HUBBLE_REDACTED" in line and "s3cret" not in line and "hunter2" not in line, line
        seen += 1
assert seen >= 1, "no masked request flow"
print("ok: %d exported request flow(s), only time, verdict, source.namespace, l7.http" % seen)
PY
grep -q 's3cret\|hunter2\|pa55word' "$EXPORT_DIR"/* && fail "a redacted value is in the export file"
echo "ok: export file has no redacted value"

step "--print-policy-names names the policy that allowed the connection"
expect_eq "frontend -> backend GET /get" 200 "$(http_code frontend/frontend "$BACKEND/get")"
await_flows 1 'f["event_type"]["type"] == 5 and pol(f, "ingress_allowed_by") == "backend-l7-16d"' >/dev/null
out=$("$SLUICE" observe --all -t policy-verdict --to-pod backend/ --print-policy-names)
echo "$out" | tail -2
expect_contains "compact line" "ALLOWED BY backend-l7-16d (CiliumNetworkPolicy)" "$out"
