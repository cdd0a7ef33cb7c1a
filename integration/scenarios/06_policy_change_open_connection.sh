# A policy change applies to the next request on a connection that is already open.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
out=$(pod frontend/frontend python3 - "$SLUICE" "$ROOT/integration/policies/backend-http-rules-v2.yaml" <<'PY'
import http.client, subprocess, sys
c = http.client.HTTPConnection("backend.backend.svc.cluster.local", 80, timeout=5)
c.request("GET", "/get"); r = c.getresponse(); r.read(); before = r.status
port = c.sock.getsockname()[1]
subprocess.run([sys.argv[1], "apply", "-f", sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
c.request("GET", "/get"); r = c.getresponse(); r.read(); after = r.status
c.request("GET", "/anything/still"); r = c.getresponse(); r.read(); other = r.status
print(before, after, other, port == c.sock.getsockname()[1])
PY
)
expect_eq "before, after, other, same connection" "200 403 200 True" "$out"
expect_contains "policy in force" "/anything/.*" "$("$SLUICE" policy get)"
