# DNS answer spoofing from inside the sandbox (issue 14). my-service resolves toFQDNs names
# through the DNS proxy while a pod with raw sockets floods forged answers at the proxy's
# upstream sockets (their ports read from the node with ss, as if leaked): from its own address
# with the right question, and with the kube-dns source forged, every ID, but another name that
# toFQDNs would also allow (those are dropped at its veth by the anti-spoofing check). Every lookup still gets the real address; the forged address is
# never learned (fqdn.json, no DNS response flow carries it), a connection to it is dropped with
# a POLICY_DENIED flow. Then one query held in flight (kube-dns stopped) gets forged answers with
# its exact ID and port, seen on the wire by a sniffer in the kube-dns pod: from kube-dns's
# address but another name, another type, another source port, and from another address with
# the right question. None is relayed or learned; the genuine answer is, once kube-dns resumes.
# Then the query screen: QDCOUNT=2 -> FORMERR, opcode STATUS -> NOTIMP,
# QR=1 and 5-byte messages -> no answer, none of them forwarded or recorded.
source "$(dirname "$0")/../lib.sh"
topo=$(mktemp --suffix .yaml)
flood_py=$(mktemp --suffix .py)
flood_out=$(mktemp)
sniff_out=$(mktemp)
victim_out=$(mktemp)
DNSMASQ=
trap '[ -n "$DNSMASQ" ] && kill -CONT "$DNSMASQ" 2>/dev/null; rm -f "$topo" "$flood_py" "$flood_out" "$sniff_out" "$victim_out"; cleanup' EXIT
cat > "$topo" <<'YAML'
namespaces:
  - name: production
    labels: {name: production}
pods:
  - name: my-service
    namespace: production
    labels: {app: my-service}
  - name: attacker
    namespace: production
    labels: {app: attacker}
world:
  - name: api.example.com
    addresses: [192.0.2.10]
    servers: ["http-static:443"]
    ttl: 30
  - name: other.example.org
    addresses: [203.0.113.5]
    servers: ["http-static:443"]
    ttl: 30
YAML
sandbox_up "$topo"
apply "$ROOT/integration/policies/tofqdns-reference.yaml"
P=production/my-service
A=production/attacker
PY="$ROOT/.venv/bin/python3"
state() { python3 -c 'import json, sys; print(json.load(open("/run/sluice/sandbox/state.json"))[sys.argv[1]])' "$1"; }
DNS=$(state dnsIP)
NODE_NETNS=$(state nodeNetns)
AGENT=$(agent_pid)
FORGED=203.0.113.5
cached_all() { python3 -c 'import json; print(json.dumps(json.load(open("/run/sluice/state/fqdn.json"))["names"], sort_keys=True))'; }

step "warm up: 300 lookups so the proxy's upstream sockets have their ports"
out=$(pod $P "$PY" - "$DNS" <<'PY'
import sys
import dns.message, dns.query
good = 0
for i in range(300):
    r = dns.query.udp(dns.message.make_query("api.example.com", "A"), sys.argv[1], timeout=3)
    good += any(rr.address == "192.0.2.10" for rrset in r.answer for rr in rrset)
print("good", good)
PY
)
expect_eq "warm-up lookups" "good 300" "$out"
ports=$(ip netns exec "$NODE_NETNS" ss -uanp | awk -v pid="pid=$AGENT," '$0 ~ pid && $4 ~ /^0\.0\.0\.0:[0-9]+$/ { split($4, a, ":"); print a[2] }' | sort -un | tr '\n' ' ')
n_ports=$(echo $ports | wc -w)
[ "$n_ports" -ge 8 ] || fail "expected many upstream ports on the node, got [$ports]"
echo "ok: $n_ports upstream ports: $ports"
node_src=$(ip netns exec "$NODE_NETNS" ip -4 route get "$DNS" | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$node_src" ] || fail "no source address toward $DNS on the node"
echo "node address toward kube-dns: $node_src"

step "flood forged answers while my-service resolves"
cat > "$flood_py" <<'PY'
import random, socket, struct, sys, time
dns_ip, node, forged, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ports = [int(p) for p in sys.argv[5:]]
def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
def answer(qid, qname):
    return (struct.pack(">HHHHHH", qid, 0x8580, 1, 1, 0, 0) + name(qname) + struct.pack(">HH", 1, 1)
            + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + socket.inet_aton(forged))
def ip_udp(src, sport, dst, dport, payload):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rng = random.Random(26)
sent = spoofed = 0
qid = 0
end = time.time() + seconds
while time.time() < end:
    for port in ports:
        # From our own address, the right question: wrong source.
        plain.sendto(answer(rng.getrandbits(16), "api.example.com"), (node, port))
        # The kube-dns source forged, IDs swept: a name toFQDNs also allows, not the one asked.
        for _ in range(64):
            qid = (qid + 1) & 0xFFFF
            raw.sendto(ip_udp(dns_ip, 53, node, port, answer(qid, "evil.internal.example.com")), (node, 0))
            spoofed += 1
        sent += 1
print("plain", sent, "spoofed", spoofed)
PY
pod $A python3 "$flood_py" "$DNS" "$node_src" "$FORGED" 8 $ports > "$flood_out" 2>&1 &
flood=$!
out=$(pod $P "$PY" - "$DNS" <<'PY'
import sys, time
import dns.message, dns.query
good = bad = lost = 0
end = time.time() + 6
while time.time() < end:
    try:
        q = dns.message.make_query("api.example.com", "A")
        r = dns.query.udp(q, sys.argv[1], timeout=2)
        addrs = sorted(rr.address for rrset in r.answer for rr in rrset if rrset.rdtype == 1)
        if addrs == ["192.0.2.10"]: good += 1
        else: bad += 1; print("bad answer", addrs)
    except Exception as e:
        lost += 1
    time.sleep(0.02)  # pacing of the lookups during the flood, not synchronisation
print("bad", bad, "lost", lost, "ok" if good >= 50 else "too few: %d" % good)
PY
)
wait "$flood" || fail "the flood failed: $(cat "$flood_out")"
echo "flood: $(cat "$flood_out")"
expect_contains "flood sent" "spoofed" "$(cat "$flood_out")"
expect_eq "lookups during the flood" "bad 0 lost 0 ok" "$out"
kill -0 "$AGENT" || fail "agent died"

step "the forged address is never learned"
# Not a poll: the agent writes its cache file within a second of a change, and a learned forgery
# would be such a change; api.example.com was learned in the warm-up, so no positive event comes
# to wait for. This waits out the write interval (1 s) with margin.
sleep 1.2
cache=$(cached_all)
case "$cache" in *"$FORGED"*|*evil*) fail "forged data learned: $cache" ;; esac
expect_contains "api.example.com. learned with its real address" '"api.example.com.": {"192.0.2.10"' "$cache"
# The flood's forgeries are dropped by the anti-spoofing check, each with a DROPPED flow, so the
# flow ring has wrapped since the lookups above (their flows are gone: a check of the ring alone
# would pass on an empty ring). The control is a lookup made now, whose response flow carries the
# genuine address; the cache file above and the drop toward $FORGED below are the evidence that
# the forgery was never learned.
expect_eq "api.example.com after the flood" 192.0.2.10 "$(pod $P dig +short +time=3 +tries=1 @"$DNS" api.example.com)"
expect_absent "DNS response flows carrying $FORGED" \
  '"'"$FORGED"'" in f.get("l7",{}).get("dns",{}).get("ips",[]) or "evil" in f.get("l7",{}).get("dns",{}).get("query","")' \
  '"192.0.2.10" in f.get("l7",{}).get("dns",{}).get("ips",[])'
expect_eq "$FORGED:443 from my-service" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code $P http://$FORGED:443/)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("IP",{}).get("destination")=="'"$FORGED"'"')
echo "ok: $n POLICY_DENIED flows toward $FORGED"
expect_eq "api.example.com:443 works" 200 "$(http_code $P http://api.example.com:443/)"

step "forged answers with the exact ID and port of a query in flight"
DNSMASQ=$(python3 -c 'import json; print([s["pid"] for s in json.load(open("/run/sluice/sandbox/state.json"))["servers"] if s["kind"] == "dns"][0])')
pod kube-system/kube-dns python3 - "$node_src" > "$sniff_out" 2>&1 <<'PY' &
import socket, struct, sys
node = socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
print("ready", flush=True)
while True:
    frame = s.recv(65535)
    if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00":
        continue
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or ip[12:16] != node:
        continue
    sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
    payload = ip[ihl + 8:]
    if dport == 53 and b"\x03api\x07example\x03com\x00" in payload:
        print("query", sport, struct.unpack(">H", payload[:2])[0], flush=True)
        break
PY
sniffer=$!
wait_until "the sniffer is ready" grep -q ready "$sniff_out"
kill -STOP "$DNSMASQ"
pod $P "$PY" - "$DNS" > "$victim_out" 2>&1 <<'PY' &
import sys
import dns.message, dns.query
r = dns.query.udp(dns.message.make_query("api.example.com", "A"), sys.argv[1], timeout=8)
print("answer", " ".join(sorted(rr.address for rrset in r.answer for rr in rrset)), flush=True)
PY
victim=$!
wait "$sniffer" || fail "sniffer failed: $(cat "$sniff_out")"
read -r _ qport qid < <(grep '^query' "$sniff_out")
echo "query in flight: proxy port $qport, ID $qid"
udp_in() { ip netns exec "$NODE_NETNS" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2 }' /proc/net/snmp; }
udp_before=$(udp_in)
# Three answers with kube-dns's own source address: sent from inside the kube-dns pod (a pod
# that forges another pod's source address is dropped at its veth with INVALID_SOURCE_IP,
# 12_spoofed_source), so only the proxy's question check can stop them. The fourth comes from
# the attacker pod's own address.
pod kube-system/kube-dns python3 - "$DNS" "$node_src" "$FORGED" "$qport" "$qid" <<'PY'
import socket, struct, sys
dns_ip, node, forged, port, qid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
def answer(qname, qtype=1):
    return (struct.pack(">HHHHHH", qid, 0x8580, 1, 1, 0, 0) + name(qname) + struct.pack(">HH", qtype, 1)
            + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + socket.inet_aton(forged))
def spoof(sport, payload):
    udp = struct.pack(">HHHH", sport, port, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(dns_ip), socket.inet_aton(node))
    raw.sendto(ip + udp, (node, 0))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
spoof(53, answer("evil.internal.example.com"))      # another name toFQDNs also allows
spoof(53, answer("api.example.com", 28))            # another type (AAAA)
spoof(5353, answer("api.example.com"))              # the right question from another port
print("sent 3 forged answers from kube-dns's address with ID", qid)
PY
pod $A python3 - "$node_src" "$FORGED" "$qport" "$qid" <<'PY'
import socket, struct, sys
node, forged, port, qid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
name = b"".join(bytes([len(p)]) + p.encode() for p in "api.example.com".split(".")) + b"\0"
answer = (struct.pack(">HHHHHH", qid, 0x8580, 1, 1, 0, 0) + name + struct.pack(">HH", 1, 1)
          + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + socket.inet_aton(forged))
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(answer, (node, port))  # another address
print("sent 1 forged answer from the attacker's address with ID", qid)
PY
# They reach the node's sockets (each carries its sender's real address).
took_forgeries() { [ $(( $(udp_in) - udp_before )) -ge 4 ]; }
wait_until "the forged answers reached the node's sockets" took_forgeries
echo "ok: the node's sockets took $(( $(udp_in) - udp_before )) datagrams"
# None of them may reach the client: it is still waiting while kube-dns is stopped.
# A deliberate window, not synchronisation: the forgeries are at the node's sockets (checked just
# above), so a forwarded one reaches the client within far less than 1 s; the loop ends early, and
# the check fails, if one does. The genuine answer after SIGCONT is the positive control.
for _ in $(seq 1 10); do [ -s "$victim_out" ] && break; sleep 0.1; done
expect_eq "client answer while kube-dns is stopped" "" "$(cat "$victim_out")"
kill -CONT "$DNSMASQ"
wait "$victim" || fail "the client got no answer: $(cat "$victim_out")"
expect_eq "the genuine answer, once kube-dns resumes" "answer 192.0.2.10" "$(cat "$victim_out")"
# Not a poll, as above: a learned forgery would be a change, written within a second.
sleep 1.2
cache=$(cached_all)
case "$cache" in *"$FORGED"*|*evil*) fail "forged data learned: $cache" ;; esac
echo "ok: nothing forged in the cache"

step "the query screen: FORMERR, NOTIMP, silence; nothing forwarded, no flow"
out=$(pod $P "$PY" - "$DNS" <<'PY'
import socket, sys
import dns.flags, dns.message, dns.opcode, dns.rcode
server = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
def ask(wire):
    s.sendto(wire, (server, 53))
    try:
        return dns.message.from_wire(s.recv(4096))
    except socket.timeout:
        return None
two = dns.message.make_query("screen.internal.example.com", "A")
two.question.append(dns.message.make_query("api.example.com", "A").question[0])
two.id = 1001
r = ask(two.to_wire())
print("qdcount2", r and r.id, r and dns.rcode.to_text(r.rcode()))
status = dns.message.make_query("screen.internal.example.com", "A")
status.set_opcode(dns.opcode.STATUS)
status.id = 1002
r = ask(status.to_wire())
print("opcode2", r and r.id, r and dns.rcode.to_text(r.rcode()), r and dns.opcode.to_text(r.opcode()))
qr = dns.message.make_query("screen.internal.example.com", "A")
qr.flags |= dns.flags.QR
qr.id = 1003
print("qr1", ask(qr.to_wire()))
print("short", ask(b"\x04\x05\x00\x00\x01"))
PY
)
echo "$out"
expect_eq "screen answers" "qdcount2 1001 FORMERR
opcode2 1002 NOTIMP STATUS
qr1 None
short None" "$out"
# The control: DNS flows of this run's lookups are recorded and readable.
expect_absent "flows for the screened name" '"screen" in f.get("l7",{}).get("dns",{}).get("query","")' \
  '"dns" in f.get("l7",{})'
expect_eq "UDP after the screen" 192.0.2.10 "$(pod $P dig +short +time=3 +tries=1 @"$DNS" api.example.com)"
expect_eq "TCP after the screen" 192.0.2.10 "$(pod $P dig +short +tcp +time=3 +tries=1 @"$DNS" api.example.com)"
kill -0 "$AGENT" || fail "agent died"
