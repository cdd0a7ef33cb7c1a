# DNS proxy (issue 4): frontend's DNS to kube-dns goes through the proxy over UDP and TCP; allowed
# names are answered by dnsmasq (fresh upstream ID, original ID back), other names get REFUSED;
# request/response flows (observation source proxy) and one DROPPED flow per refused query;
# a flood of malformed datagrams and 200 concurrent queries leave the proxy answering.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/integration/policies/dns-frontend.yaml"
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
echo "kube-dns: $DNS"

dig_status() { pod frontend/frontend dig +time=3 +tries=1 "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

step "allowed names over UDP and TCP"
expect_eq "UDP backend" NOERROR "$(dig_status @"$DNS" backend.backend.svc.cluster.local)"
answer=$(pod frontend/frontend dig +short +time=3 +tries=1 @"$DNS" backend.backend.svc.cluster.local)
[ -n "$answer" ] || fail "UDP answer has no address"
echo "ok: backend resolves to $answer"
expect_eq "TCP db" NOERROR "$(dig_status +tcp @"$DNS" db.database.svc.cluster.local)"
answer_tcp=$(pod frontend/frontend dig +short +tcp +time=3 +tries=1 @"$DNS" backend.backend.svc.cluster.local)
expect_eq "TCP answer equals UDP answer" "$answer" "$answer_tcp"

step "other names are REFUSED"
expect_eq "UDP world name" REFUSED "$(dig_status @"$DNS" example.com)"
expect_eq "TCP world name" REFUSED "$(dig_status +tcp @"$DNS" www.example.org)"
expect_eq "UDP one label short" REFUSED "$(dig_status @"$DNS" svc.cluster.local)"

step "flows"
expect_flows "FORWARDED dns requests for backend" 3 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["l7"].get("dns",{}).get("query")=="backend.backend.svc.cluster.local."'
expect_flows "dns responses for backend (proxy, with ips)" 3 'f.get("l7",{}).get("type")=="RESPONSE" and f["l7"].get("dns",{}).get("observation_source")=="proxy" and f["l7"]["dns"].get("query")=="backend.backend.svc.cluster.local." and len(f["l7"]["dns"].get("ips",[]))>0 and f["is_reply"] is True'
expect_flows "DROPPED dns requests" 3 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="DROPPED" and "dns" in f.get("l7",{})'
# The controls: the DROPPED request flows of the same refused names, and the dns flows counted above.
expect_absent "no response flow for refused names" \
  'f.get("l7",{}).get("type")=="RESPONSE" and f["l7"].get("dns",{}).get("query") in ("example.com.","www.example.org.","svc.cluster.local.")' \
  'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["l7"].get("dns",{}).get("query") in ("example.com.","www.example.org.","svc.cluster.local.")'
expect_absent "dns flows with another direction than EGRESS" '"dns" in f.get("l7",{}) and f.get("traffic_direction")!="EGRESS"' '"dns" in f.get("l7",{})'

step "2000 malformed datagrams, then good queries still answered"
pod frontend/frontend python3 - "$DNS" <<'PY'
import random, socket, sys
rng = random.Random(4)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    s.sendto(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600))), (sys.argv[1], 53))
PY
expect_eq "UDP after flood" NOERROR "$(dig_status @"$DNS" backend.backend.svc.cluster.local)"
expect_eq "TCP after flood" NOERROR "$(dig_status +tcp @"$DNS" backend.backend.svc.cluster.local)"

step "200 concurrent queries"
out=$(pod frontend/frontend python3 - "$DNS" <<'PY'
import random, socket, struct, sys, time
names = ["backend.backend.svc.cluster.local", "db.database.svc.cluster.local", "frontend.frontend.svc.cluster.local"]
def query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
sent = {}
for i in range(200):
    qid = 1000 + i
    sent[qid] = names[i % 3]
    s.sendto(query(qid, sent[qid]), (sys.argv[1], 53))
ok = 0
seen = set()
deadline = time.time() + 10
while len(seen) < 200 and time.time() < deadline:
    try:
        data, src = s.recvfrom(4096)
    except socket.timeout:
        break
    qid, flags = struct.unpack(">HH", data[:4])
    if src != (sys.argv[1], 53) or qid not in sent or qid in seen:
        continue
    seen.add(qid)
    if flags & 0xF == 0 and struct.unpack(">H", data[6:8])[0] >= 1:
        ok += 1
print("answered", len(seen), "noerror", ok)
PY
)
expect_eq "200 concurrent" "answered 200 noerror 200" "$out"
kill -0 "$(agent_pid)" || fail "agent died"

step "dnspython: EDNS(0) kept end to end, the client's ID restored, two queries pipelined on one TCP connection"
out=$(pod frontend/frontend "$ROOT/.venv/bin/python3" - "$DNS" <<'PY'
import socket, struct, sys
import dns.edns, dns.message, dns.query, dns.rcode
server = sys.argv[1]
q = dns.message.make_query("backend.backend.svc.cluster.local", "A", use_edns=0, payload=1232)
q.id = 4242
r = dns.query.udp(q, server, timeout=3)
print("udp", r.id, dns.rcode.to_text(r.rcode()), "edns", r.edns, len(r.answer))
q2 = dns.message.make_query("db.database.svc.cluster.local", "A")
q2.id = 7
q3 = dns.message.make_query("example.com", "A")
q3.id = 8
s = socket.create_connection((server, 53), timeout=3)
for m in (q2, q3):
    w = m.to_wire()
    s.sendall(struct.pack(">H", len(w)) + w)
got = {}
for _ in range(2):
    n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
    m = dns.message.from_wire(s.recv(n, socket.MSG_WAITALL))
    got[m.id] = dns.rcode.to_text(m.rcode())
s.close()
print("tcp", got.get(7), got.get(8))
PY
)
echo "$out"
expect_eq "dnspython" "udp 4242 NOERROR edns 0 1
tcp NOERROR REFUSED" "$out"
