#!/usr/bin/env bash
# Captures the wire fixtures in this directory from a real DNS server, so the codec's tests
# hold it to bytes it did not write (issue 20): dnsmasq answers on 127.0.0.1:53 inside a
# network namespace made for this, a Python socket sends each query (built by dnspython) and
# writes the answer's bytes, unchanged, to <type>.bin. Run as root; rerun only to add records.
#   bash Tests/DNSTests/Fixtures/capture.sh
# The records (what DNSWireFixtureTests expects) are in dnsmasq.conf below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
py="$root/.venv/bin/python3"
ns=sluice-dns-fixtures
work=$(mktemp -d)
dnsmasq_pid=""
trap '[ -z "$dnsmasq_pid" ] || kill "$dnsmasq_pid"; ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/dnsmasq.conf" <<'CONF'
no-resolv
no-hosts
no-daemon
port=53
listen-address=127.0.0.1
bind-interfaces
local-ttl=300
auth-server=ns1.fixture.test,127.0.0.1
auth-zone=fixture.test,192.0.2.0/24,2001:db8::/32
auth-soa=2024010101,hostmaster.fixture.test,1200,180,1209600,300
auth-ttl=300
host-record=host.fixture.test,192.0.2.1,2001:db8::1
cname=alias.fixture.test,host.fixture.test
mx-host=mail.fixture.test,mx1.fixture.test,10
txt-record=txt.fixture.test,"v=spf1 -all","second string"
srv-host=_http._tcp.fixture.test,web.fixture.test,8080,1,5
ptr-record=1.2.0.192.in-addr.arpa,host.fixture.test
dns-rr=caa.fixture.test,257,00056973737565636120746573742E6F7267
CONF
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" dnsmasq --conf-file="$work/dnsmasq.conf" &
dnsmasq_pid=$!
ip netns exec "$ns" "$py" - "$here" <<'PY'
import socket, sys
import dns.message
queries = [("a", "host.fixture.test", "A"), ("aaaa", "host.fixture.test", "AAAA"),
           ("cname", "alias.fixture.test", "A"), ("mx", "mail.fixture.test", "MX"),
           ("txt", "txt.fixture.test", "TXT"), ("srv", "_http._tcp.fixture.test", "SRV"),
           ("ptr", "1.2.0.192.in-addr.arpa", "PTR"), ("ns", "fixture.test", "NS"),
           ("soa", "fixture.test", "SOA"), ("caa", "caa.fixture.test", "CAA"),
           ("nxdomain", "absent.fixture.test", "A")]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
def ask(wire):
    for _ in range(50):  # dnsmasq may still be starting: resend until it answers (10 s)
        s.sendto(wire, ("127.0.0.1", 53))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            pass
    sys.exit("dnsmasq did not answer")
for i, (file, name, rtype) in enumerate(queries):
    q = dns.message.make_query(name, rtype, use_edns=0, payload=1232)
    q.id = 0x5100 + i
    answer = ask(q.to_wire())
    open(f"{sys.argv[1]}/{file}.bin", "wb").write(answer)
    print(file, len(answer), "bytes:", dns.message.from_wire(answer).answer or dns.message.from_wire(answer).authority)
PY
