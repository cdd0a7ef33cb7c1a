# One keep-alive connection carries an allowed, a denied and another allowed request: each is
# checked on its own (Cilium/Envoy per-request policy), and the connection survives the 403.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
out=$(pod frontend/frontend python3 - <<'PY'
import http.client
c = http.client.HTTPConnection("backend.backend.svc.cluster.local", 80, timeout=5)
results = []
for method, path in [("GET", "/get"), ("POST", "/post"), ("GET", "/anything/keep"), ("DELETE", "/anything/x"), ("GET", "/get")]:
    c.request(method, path, body=b"" if method != "GET" else None)
    r = c.getresponse()
    body = r.read()
    results.append(f"{method} {path} {r.status} {len(body)} {c.sock.getsockname()[1]}")
print("\n".join(results))
PY
)
echo "$out"
expect_eq "statuses" "200 403 200 403 200" "$(echo "$out" | awk '{print $3}' | xargs)"
expect_eq "one connection (one local port)" 1 "$(echo "$out" | awk '{print $5}' | sort -u | wc -l)"
expect_eq "403 body length" 15 "$(echo "$out" | sed -n 2p | awk '{print $4}')"
port=$(echo "$out" | head -1 | awk '{print $5}')
expect_flows "request flows on that connection" 5 "f['l7']['type']=='REQUEST' and f['l4']['TCP']['source_port']==$port"
expect_flows "response flows on that connection" 5 "f['l7']['type']=='RESPONSE' and f['l4']['TCP']['destination_port']==$port"
