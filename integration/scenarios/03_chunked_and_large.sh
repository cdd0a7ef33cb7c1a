# A chunked upload is allowed and relayed without buffering it whole; a large response and a
# chunked response come back intact. Rules from two policies on the same port are ORed.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
apply "$ROOT/integration/policies/backend-upload-rules.yaml"
step "chunked upload of 3 MB to POST /anything/upload"
out=$(pod frontend/frontend bash -c "head -c 3000000 /dev/zero | tr '\\0' 'a' | curl -s -m 30 -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' --data-binary @- $BACKEND/anything/upload -w '\n%{http_code} %{size_download}'")
code=$(echo "$out" | tail -1 | awk '{print $1}')
size=$(echo "$out" | tail -1 | awk '{print $2}')
expect_eq "upload status" 200 "$code"
datalen=$(echo "$out" | sed '$d' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
expect_eq "httpbin saw every byte" 3000000 "$datalen"
[ "$size" -gt 3000000 ] || fail "response (echo) size $size"
step "chunked response GET /stream/40"
lines=$(pod frontend/frontend curl -s -m 10 $BACKEND/stream/40 | wc -l)
expect_eq "stream lines" 40 "$lines"
step "a POST that neither policy allows is still denied"
expect_eq "POST /post" 403 "$(http_code frontend/frontend -X POST -d x $BACKEND/post)"
step "a denied chunked upload on a keep-alive connection: the body is skipped, the next request works"
out=$(pod frontend/frontend python3 - <<'PY'
import http.client
c = http.client.HTTPConnection("backend.backend.svc.cluster.local", 80, timeout=10)
def chunks():
    for _ in range(50):
        yield b"x" * 10000
c.request("POST", "/post", body=chunks(), encode_chunked=True)
r = c.getresponse(); r.read()
first = r.status
c.request("GET", "/get")
r = c.getresponse(); r.read()
print(first, r.status)
PY
)
expect_eq "denied chunked then allowed" "403 200" "$out"
