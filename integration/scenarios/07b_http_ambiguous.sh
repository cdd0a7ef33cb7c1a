# Ambiguous and abusive HTTP/1.1 requests (issue 14): the policy decides on exactly what is
# forwarded. With only `GET /anything/public/.*` allowed: dot segments (plain or %2e) that leave
# /anything/public are 403, an encoded slash is 307, an invalid Host, conflicting Content-Length
# and an underscore header are 400, a 9 KiB request line 414, 101 header fields 431; an allowed
# path with dot segments reaches httpbin normalised. Each answer is checked by its exact status
# and by its flow records. Raw sockets (curl would normalise the path itself).
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/integration/policies/backend-public-only.yaml"

# wait_flows WHAT EXPECTED PYTHON-EXPR: polls the flow count until it is EXPECTED (5 s deadline).
wait_flows() {
  local what=$1 expected=$2 expr=$3 got deadline=$((SECONDS + 5))
  while :; do
    got=$(count_flows "$expr")
    [ "$got" = "$expected" ] && break
    [ $SECONDS -ge $deadline ] && break
    python3 -c 'import select; select.select([], [], [], 0.05)'
  done
  expect_eq "$what" "$expected" "$got"
}

out=$(pod frontend/frontend python3 - <<'PY'
import json, socket
def raw(data):
    s = socket.create_connection(("backend.backend.svc.cluster.local", 80), timeout=5)
    s.sendall(data)
    got = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        got += b
        if b"connection: close" not in got.lower() and b"\r\n\r\n" in got:
            head, _, body = got.partition(b"\r\n\r\n")
            length = [l for l in head.lower().split(b"\r\n") if l.startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    s.close()
    return got
def get(target, extra=b""):
    return raw(b"GET " + target + b" HTTP/1.1\r\nHost: backend\r\n" + extra + b"Connection: close\r\n\r\n")
def status(r):
    return r.split(b"\r\n")[0].decode()
ok = get(b"/anything/public/x/../y?q=1")
print("allowed", status(ok), json.loads(ok.partition(b"\r\n\r\n")[2])["url"])
print("dotdot", status(get(b"/anything/public/../private")))
print("pct-dotdot", status(get(b"/anything/public/%2e%2e/private")))
r = get(b"/anything/public%2Fx?q=1")
print("slash", status(r), [l for l in r.decode().split("\r\n") if l.lower().startswith("location:")])
print("userinfo-host", status(raw(b"GET /anything/public/a HTTP/1.1\r\nHost: a@b\r\n\r\n")))
print("two-lengths", status(raw(b"GET /anything/public/a HTTP/1.1\r\nHost: backend\r\n"
                               b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab")))
print("underscore", status(get(b"/anything/public/a", b"X_Role: admin\r\n")))
print("long-line", status(get(b"/anything/public/" + b"a" * 9216)))
print("many-fields", status(get(b"/anything/public/a", b"".join(b"X-F%d: v\r\n" % i for i in range(101)))))
PY
)
echo "$out"
expect_contains "allowed path reaches httpbin normalised" "allowed HTTP/1.1 200 OK http://backend/anything/public/y?q=1" "$out"
expect_contains "../ leaves the allowed prefix" "dotdot HTTP/1.1 403 Forbidden" "$out"
expect_contains "%2e%2e leaves the allowed prefix" "pct-dotdot HTTP/1.1 403 Forbidden" "$out"
expect_contains "%2F redirected" "slash HTTP/1.1 307 Temporary Redirect ['location: /anything/public/x?q=1']" "$out"
expect_contains "Host with userinfo" "userinfo-host HTTP/1.1 400 Bad Request" "$out"
expect_contains "conflicting Content-Length" "two-lengths HTTP/1.1 400 Bad Request" "$out"
expect_contains "underscore header" "underscore HTTP/1.1 400 Bad Request" "$out"
expect_contains "9 KiB request line" "long-line HTTP/1.1 414 URI Too Long" "$out"
expect_contains "101 header fields" "many-fields HTTP/1.1 431 Request Header Fields Too Large" "$out"

step "flow records"
wait_flows "forwarded request flow, normalised path" 1 \
  "f['verdict']=='FORWARDED' and not f.get('is_reply') and http.get('url','').endswith('/anything/public/y?q=1')"
wait_flows "DROPPED request flows for /anything/private" 2 \
  "f['verdict']=='DROPPED' and http.get('url','').endswith('/anything/private')"
wait_flows "403 response flows" 2 "http.get('code')==403"
wait_flows "DROPPED request flow for %2F" 1 "f['verdict']=='DROPPED' and '%2F' in http.get('url','')"
wait_flows "307 response flow" 1 "http.get('code')==307"
wait_flows "ERROR request flows" 5 "f['verdict']=='ERROR'"
wait_flows "400 response flows" 3 "http.get('code')==400"
wait_flows "414 response flow" 1 "http.get('code')==414"
wait_flows "431 response flow" 1 "http.get('code')==431"
wait_flows "ERROR flow for the underscore header names its request" 1 \
  "f['verdict']=='ERROR' and http.get('url','')=='http://backend/anything/public/a' and http.get('method')=='GET'"
wait_flows "ERROR flow for the invalid Host names it" 1 "f['verdict']=='ERROR' and http.get('url','')=='http://a@b/anything/public/a'"
kill -0 "$(agent_pid)" || fail "agent died"
