# Bad input gets a clear answer: malformed request -> 400 and close (with a flow), an over-long
# header section -> 431, an upstream that refuses -> 503; the agent keeps serving.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
apply "$ROOT/integration/policies/backend-closed-port.yaml"
out=$(pod frontend/frontend python3 - <<'PY'
import socket
def raw(data, port=80):
    s = socket.create_connection(("backend.backend.svc.cluster.local", port), timeout=5)
    s.sendall(data)
    got = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        got += b
    s.close()
    return got
a = raw(b"GARBAGE\r\n\r\n")
print("malformed", a.split(b"\r\n")[0].decode(), b"connection: close" in a.lower())
b = raw(b"GET /get HTTP/1.1\r\nHost: backend\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
print("oversize", b.split(b"\r\n")[0].decode())
c = raw(b"GET /get HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
print("te", c.split(b"\r\n")[0].decode())
d = raw(b"GET /x HTTP/1.1\r\nHost: backend:8080\r\nConnection: close\r\n\r\n", 8080)
print("refused", d.split(b"\r\n")[0].decode())
PY
)
echo "$out"
expect_contains "malformed" "malformed HTTP/1.1 400 Bad Request True" "$out"
expect_contains "oversize" "oversize HTTP/1.1 431 Request Header Fields Too Large" "$out"
expect_contains "unsupported transfer-coding" "te HTTP/1.1 501 Not Implemented" "$out"
expect_contains "upstream refused" "refused HTTP/1.1 503 Service Unavailable" "$out"
expect_flows "ERROR request flows" 3 "f['verdict']=='ERROR'"
expect_flows "400 response flow" 1 "http.get('code')==400"
expect_flows "503 response flow" 1 "http.get('code')==503"
step "a burst of random bytes on the L7 port, then the agent still serves"
pod frontend/frontend python3 - <<'PY'
import random, socket
rng = random.Random(7)
for i in range(300):
    s = socket.create_connection(("backend.backend.svc.cluster.local", 80), timeout=5)
    s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000))))
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
PY
expect_eq "GET /get after the burst" 200 "$(http_code frontend/frontend $BACKEND/get)"
kill -0 "$(agent_pid)" || fail "agent died"
