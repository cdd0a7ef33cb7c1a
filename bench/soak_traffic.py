"""Background traffic of bench/soak.sh, run in the client pod's namespace: malformed HTTP/1
requests (one connection each) or DNS queries (allowed, refused and malformed datagrams) at a
fixed rate for a duration; prints one JSON line of counts at the end.

usage: soak_traffic.py http-bad HOST PORT RATE SECONDS
       soak_traffic.py dns SERVER ALLOWED_NAME RATE SECONDS
"""
import json
import random
import select
import socket
import struct
import sys
import time

mode, target, arg, rate, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
counts = {}


def count(key):
    counts[key] = counts.get(key, 0) + 1


BAD_HTTP = [
    b"GET /get HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
    b"GET /get HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"GET /get HTTP/1.1\r\nHost: x\r\nX_Role: admin\r\n\r\n",
    b"\x00\x01\x02\x03 garbage \xff\r\n\r\n",
    b"GET /get#frag HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /get HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"POST /get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"GET /get HTTP/1.1\r\nHost: x\r\n",  # never finished: closed by the client
]


def http_bad(host, port):
    payload = BAD_HTTP[int(time.time() * 1000) % len(BAD_HTTP)]
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(payload)
        if payload.endswith(b"\r\n\r\n") or payload.endswith(b"abc"):
            data = s.recv(64)
            count(data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed")
        else:
            count("sent-and-closed")
        s.close()
    except socket.timeout:
        count("timeout")
    except OSError as e:
        count("error-" + (e.__class__.__name__))


def dns_query(name, qid, qtype=1, flags=0x0100, qdcount=1):
    head = struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 0)
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\x00"
    return head + q + struct.pack("!HH", qtype, 1)


def dns_loop(server, allowed):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    kinds = ["allowed", "allowed", "allowed", "refused", "malformed-bytes", "qdcount2", "response-bit"]
    sent = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        kind = kinds[sent % len(kinds)]
        qid = random.randrange(65536)
        if kind == "allowed":
            pkt = dns_query(allowed, qid)
        elif kind == "refused":
            pkt = dns_query("www.example.org", qid)
        elif kind == "malformed-bytes":
            pkt = bytes(random.randrange(256) for _ in range(random.randrange(1, 40)))
        elif kind == "qdcount2":
            pkt = dns_query(allowed, qid, qdcount=2)
        else:
            pkt = dns_query(allowed, qid, flags=0x8100)
        try:
            sock.sendto(pkt, (server, 53))
            count("sent-" + kind)
        except OSError:
            count("send-error")
        sent += 1
        drain(sock, 0)
        next_at = t0 + sent / rate
        while time.time() < next_at:
            drain(sock, max(0, next_at - time.time()))
    drain(sock, 1.0)


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def drain(sock, wait):
    while True:
        ready, _, _ = select.select([sock], [], [], wait)
        if not ready:
            return
        try:
            data = sock.recv(4096)
        except OSError:
            return
        if len(data) >= 4:
            count("answer-" + RCODES.get(data[3] & 0xF, str(data[3] & 0xF)))
        wait = 0


if mode == "http-bad":
    t0 = time.time()
    n = 0
    while time.time() - t0 < seconds:
        http_bad(target, int(arg))
        n += 1
        delay = t0 + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)  # pacing to RATE
else:
    dns_loop(target, arg)
print(json.dumps({"mode": mode, "counts": counts}, sort_keys=True), flush=True)
