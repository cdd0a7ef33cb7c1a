#!/usr/bin/env bash
# Writes the committed seed corpora in Seeds/<target>/ from the project's own fixtures and
# files, so each fuzzer starts from inputs the unit tests and the sandbox use (run as root; it
# takes the sandbox lock for the JSON state files). Rerun when a format changes.
#   bash FuzzTesting/make_seeds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
py="$root/.venv/bin/python3"
seeds="$here/Seeds"

# DNS: the answers dnsmasq sent (Tests/DNSTests/Fixtures), besides the hand-written ones.
mkdir -p "$seeds/FuzzDNS"
for f in "$root"/Tests/DNSTests/Fixtures/*.bin; do cp "$f" "$seeds/FuzzDNS/dnsmasq-$(basename "$f")"; done

# Policy YAML: every example and scenario policy.
rm -rf "$seeds/FuzzPolicyYAML" && mkdir -p "$seeds/FuzzPolicyYAML"
for f in "$root"/proxy-config/examples/*/*.yaml "$root"/integration/policies/*.yaml; do
  cp "$f" "$seeds/FuzzPolicyYAML/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# HTTP/1 heads and chunked bodies: the shapes of the HTTP1 unit tests' fixtures.
"$py" - "$seeds" <<'PY'
import os, sys
seeds = sys.argv[1]
def write(target, name, data):
    os.makedirs(f"{seeds}/{target}", exist_ok=True)
    open(f"{seeds}/{target}/{name}", "wb").write(data if isinstance(data, bytes) else data.encode("latin-1"))
requests = {
    "get.txt": "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-A: b\r\n\r\n",
    "post-length.txt": "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    "post-chunked.txt": "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "put-1.0.txt": "PUT /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    "h2c-upgrade.txt": "GET / HTTP/1.1\r\nHost: s\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    "absolute-form.txt": "GET http://backend.example:81/allowed/abs HTTP/1.1\r\nhost: ignored\r\n\r\n",
    "expect-continue.txt": "POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n",
    "websocket.txt": "GET /chat HTTP/1.1\r\nHost: s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "pipelined.txt": "GET /a HTTP/1.1\r\nhost: b\r\n\r\nGET /b HTTP/1.1\r\nhost: b\r\n\r\n",
    "te-gzip-chunked.txt": "POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "duplicate-length.txt": "POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "obs-fold.txt": "GET / HTTP/1.1\r\nHost: b\r\nX-Folded: a\r\n b\r\n\r\n",
}
for name, text in requests.items():
    write("FuzzHTTP1Request", name, text)
responses = {  # byte 0: 1 = the request was HEAD
    "200.txt": "\x00HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "204.txt": "\x00HTTP/1.1 204 No Content\r\n\r\n",
    "302-chunked.txt": "\x00HTTP/1.0 302 Found\r\nLocation: /x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "head-chunked.txt": "\x01HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "101.txt": "\x00HTTP/1.1 101 Switching Protocols\r\nupgrade: test\r\nconnection: upgrade\r\n\r\n",
    "103-then-201.txt": "\x00HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
    "until-close.txt": "\x00HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nzzzz",
    "403-envoy.txt": "\x00HTTP/1.1 403 Forbidden\r\ncontent-length: 15\r\ncontent-type: text/plain\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\nserver: envoy\r\n\r\nAccess denied\r\n",
}
for name, text in responses.items():
    write("FuzzHTTP1Response", name, text)
chunked = {  # bytes 0-1: the split point
    "simple.txt": "\x00\x03" + "5\r\nhello\r\n0\r\n\r\n",
    "ext-trailer.txt": "\x00\x07" + "5;ext=1\r\nhello\r\na\r\n0123456789\r\n0\r\nTrailer: v\r\n\r\n",
    "hex-sizes.txt": "\x00\x10" + "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\ntrailer-a: 1\r\n\r\n",
    "huge-size.txt": "\x00\x01" + "FFFFFFFFFFFFFFFFFF\r\n",
}
for name, text in chunked.items():
    write("FuzzChunked", name, text)

# HTTP/2: client connections as h2 writes them; byte 0 is where the fuzzer splits (x4).
import h2.config, h2.connection
def client():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    return c
get = [(":method", "GET"), (":scheme", "http"), (":authority", "backend"), (":path", "/allowed/x")]
c = client(); c.send_headers(1, get, end_stream=True)
write("FuzzHTTP2", "get.bin", b"\x06" + c.data_to_send())
c = client(); c.send_headers(1, [(":method", "POST")] + get[1:], end_stream=False); c.send_data(1, b"x" * 100, end_stream=True)
write("FuzzHTTP2", "post.bin", b"\x10" + c.data_to_send())
c = client()
for i in range(10):
    sid = c.get_next_available_stream_id(); c.send_headers(sid, get, end_stream=True); c.reset_stream(sid, 8)
write("FuzzHTTP2", "rapid-reset.bin", b"\x20" + c.data_to_send())
c = client(); c.ping(b"12345678"); c.update_settings({4: 100000}); c.increment_flow_control_window(1000)
write("FuzzHTTP2", "ping-settings.bin", b"\x00" + c.data_to_send())
c = client(); block = c.encoder.encode(get)
frame = lambda t, f, s, p=b"": len(p).to_bytes(3, "big") + bytes([t, f]) + s.to_bytes(4, "big") + p
write("FuzzHTTP2", "continuation.bin", b"\x08" + c.data_to_send() + frame(1, 0, 1, block[:3]) + frame(9, 4, 1, block[3:]))
c = client(); c.send_headers(1, get + [("grpc-timeout", "1S"), ("te", "trailers"), ("content-type", "application/grpc")], end_stream=True)
write("FuzzHTTP2", "grpc.bin", b"\x06" + c.data_to_send())
PY

# JSON: the agent's real files from a sandbox (stored policies become control requests).
mkdir -p "$seeds/FuzzJSON"
exec 9>/run/lock/sluice-sandbox.lock
flock 9
"$root/.build/release/sluice" sandbox up "$root/proxy-config/sandbox/tutorial.yaml" >/dev/null
trap '"$root/.build/release/sluice" sandbox down >/dev/null 2>&1 || true' EXIT
"$root/.build/release/sluice" apply -f "$root/proxy-config/examples/tutorial/backend-http-rules.yaml" >/dev/null
"$root/.build/release/sluice" apply -f "$root/integration/policies/dns-fqdn.yaml" >/dev/null
"$root/.build/release/sluice" apply -f "$root/proxy-config/examples/l3l4/to-cidr-except.yaml" >/dev/null
n=0
for f in /run/sluice/state/policies/*.json; do
  n=$((n + 1))
  sed -e 's/^{/{"op":"apply",/' -e "s#\"file\":\"$root/#\"file\":\"#" "$f" >"$seeds/FuzzJSON/control-apply-$n.json"
done
cp /run/sluice/state/endpoints.json "$seeds/FuzzJSON/endpoints.json"
cp /run/sluice/sandbox/state.json "$seeds/FuzzJSON/sandbox-state.json"
[ ! -f /run/sluice/state/identities.json ] || cp /run/sluice/state/identities.json "$seeds/FuzzJSON/identities.json"
printf '{"op":"get"}' >"$seeds/FuzzJSON/control-get.json"
printf '{"version":1,"names":{"api.example.com.":{"192.0.2.10":{"expiresNs":1767225600000000000,"lastSeenNs":1767225570000000000}}}}' \
  >"$seeds/FuzzJSON/fqdn.json"
echo "seeds: $(find "$seeds" -type f | wc -l) files in $(ls "$seeds" | wc -l) targets"
