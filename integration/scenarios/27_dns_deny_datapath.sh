# Denied DNS queries answered in the datapath (issue 19): the first refused UDP query of a name
# is answered by the proxy, which puts it into the deny cache; the same query again is answered by
# tc from the cache (the datapath's count moves, the proxy sees nothing), with the same bytes and
# a DROPPED request flow with the same fields. A policy that then allows the name takes effect on
# the very next query (it reaches the proxy and is forwarded).
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/integration/policies/dns-frontend.yaml"
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
echo "kube-dns: $DNS"

# answered_in_datapath: the sum of tc's per-CPU count of queries answered from the cache.
answered_in_datapath() {
  bpftool -j map lookup pinned /sys/fs/bpf/sluice/sluice_dns_stats key 0 0 0 0 |
    python3 -c 'import json,sys; v=json.load(sys.stdin); print(sum(c["value"]["answered"] if isinstance(c["value"],dict) else int.from_bytes(bytes(int(b,16) for b in c["value"]),"little") for c in v["values"]))'
}

# ask NAME [EDNS]: one plain query from one socket (ID 4660, RD), the reply's bytes in hex.
ask() {
  pod frontend/frontend python3 - "$DNS" "$1" "${2:-}" <<'PY'
import socket, struct, sys
server, name, edns = sys.argv[1], sys.argv[2], sys.argv[3]
q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
msg = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 1 if edns else 0) + q + struct.pack(">HH", 1, 1)
if edns:
    msg += b"\0" + struct.pack(">HHIH", 41, 4096, 0x8000, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40123))
s.settimeout(3)
s.sendto(msg, (server, 53))
data, src = s.recvfrom(4096)
print(data.hex() if src == (server, 53) else "from " + repr(src))
PY
}

step "the first denial: the proxy answers and fills the cache"
before=$(answered_in_datapath)
first=$(ask ExAmple.com)
echo "reply: $first"
expect_eq "rcode REFUSED" 5 "$(( 0x${first:6:2} & 15 ))"
expect_eq "answered by tc" "$before" "$(answered_in_datapath)"

step "the same query again: tc answers with the same bytes"
second=$(ask ExAmple.com)
expect_eq "second reply" "$first" "$second"
expect_eq "answered by tc" "$((before + 1))" "$(answered_in_datapath)"
third=$(ask example.COM)
expect_eq "another case of the name: answered by tc" "$((before + 2))" "$(answered_in_datapath)"

step "EDNS: the proxy's reply first, then tc's, the same bytes"
edns1=$(ask www.example.org edns)
edns2=$(ask www.example.org edns)
expect_eq "EDNS replies" "$edns1" "$edns2"
expect_eq "answered by tc" "$((before + 3))" "$(answered_in_datapath)"

step "flows: every denial has its DROPPED request flow, tc's with the proxy's fields"
expect_flows "DROPPED dns requests for example.com" 3 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="DROPPED" and f["l7"].get("dns",{}).get("query")=="example.com."'
flows_json | python3 -c '
import json, sys
rows = [json.loads(l)["flow"] for l in sys.stdin if l.strip()]
d = [f for f in rows if f.get("l7",{}).get("type")=="REQUEST" and f.get("verdict")=="DROPPED" and f["l7"].get("dns",{}).get("query")=="example.com."]
def strip(f):
    f = dict(f)
    for k in ("time", "uuid", "event_type_seq"):
        f.pop(k, None)
    return json.dumps(f, sort_keys=True)
same = len(set(strip(f) for f in d))
print("distinct", same, "of", len(d))
if same != 1:
    for f in d:
        print(strip(f))
sys.exit(0 if len(d) == 3 and same == 1 else 1)
' || fail "the DROPPED flows of the proxy and of tc differ"
echo "ok: the three DROPPED flows are alike but for their time"

step "sluice status counts them"
expect_contains "status" "denied queries answered in the datapath: $((before + 3))" "$("$SLUICE" status)"

step "a policy that allows the name takes effect on the very next query"
sed 's|        - matchName: "backend.backend.svc.cluster.local"|        - matchName: "backend.backend.svc.cluster.local"\n        - matchName: "example.com"|' \
  "$ROOT/integration/policies/dns-frontend.yaml" > /tmp/sluice-dns-allow-example.yaml
apply /tmp/sluice-dns-allow-example.yaml
now=$(answered_in_datapath)
after=$(ask example.com)
expect_eq "not answered by tc" "$now" "$(answered_in_datapath)"
expect_flows "FORWARDED dns request for example.com" 1 'f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and f["l7"].get("dns",{}).get("query")=="example.com."'
echo "ok: forwarded after the policy change (reply ${after:0:16}...)"

step "and a policy that denies it again is enforced again (the proxy first)"
apply "$ROOT/integration/policies/dns-frontend.yaml"
now=$(answered_in_datapath)
again=$(ask example.com)
expect_eq "rcode REFUSED" 5 "$(( 0x${again:6:2} & 15 ))"
expect_eq "the proxy answered" "$now" "$(answered_in_datapath)"
again2=$(ask example.com)
expect_eq "then tc" "$((now + 1))" "$(answered_in_datapath)"
kill -0 "$(agent_pid)" || fail "agent died"
