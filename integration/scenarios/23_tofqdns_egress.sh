# toFQDNs egress (issue 4), the seed reference card's policy: api.example.com and
# *.internal.example.com on 443 are reachable once resolved through the DNS proxy; other names are
# REFUSED at DNS and their IPs dropped at L3 (POLICY_DENIED); an IP is reachable right after its
# answer (200 resolve-then-connect rounds against a 1 s TTL, zero failures); TTL expiry stops new
# connections while an open one continues; learned allowances survive an agent restart.
source "$(dirname "$0")/../lib.sh"
topo=$(mktemp --suffix .yaml)
trap 'rm -f "$topo"; cleanup' EXIT
cat > "$topo" <<'YAML'
namespaces:
  - name: production
    labels: {name: production}
pods:
  - name: my-service
    namespace: production
    labels: {app: my-service}
world:
  - name: api.example.com
    addresses: [192.0.2.10]
    servers: ["http-static:443", "http-static:8443"]
    ttl: 30
  - name: a.internal.example.com
    addresses: [198.51.100.7]
    servers: ["http-static:443"]
    ttl: 30
  - name: b.internal.example.com
    addresses: [198.51.100.8]
    servers: ["tcp:443"]
    ttl: 2
  - name: c.internal.example.com
    addresses: [198.51.100.9]
    servers: ["http-static:443"]
    ttl: 1
  - name: other.example.org
    addresses: [203.0.113.5]
    servers: ["http-static:443"]
    ttl: 30
YAML
sandbox_up "$topo"
P=production/my-service
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
dig_status() { pod $P dig +time=3 +tries=1 "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
code() { CURL_TIMEOUT=${T:-5} http_code $P "$@"; }

step "no policy: world is reachable"
expect_eq "203.0.113.5:443 without policy" 200 "$(code http://203.0.113.5:443/)"
apply "$ROOT/integration/policies/tofqdns-reference.yaml"

step "before any lookup nothing in world is allowed"
expect_eq "192.0.2.10:443 not yet learned" "000 (curl exit 28)" "$(T=2 code http://192.0.2.10:443/)"

step "allowed names: resolve, then connect"
expect_eq "dig api.example.com" 192.0.2.10 "$(pod $P dig +short +time=3 +tries=1 @"$DNS" api.example.com)"
expect_eq "api.example.com:443" 200 "$(code http://api.example.com:443/)"
expect_eq "api.example.com:8443 (port not in the rule)" "000 (curl exit 28)" "$(T=2 code http://api.example.com:8443/)"
expect_eq "a.internal.example.com:443 over DNS/TCP" 198.51.100.7 \
  "$(pod $P dig +short +tcp +time=3 +tries=1 @"$DNS" a.internal.example.com)"
expect_eq "a.internal.example.com:443" 200 "$(code http://a.internal.example.com:443/)"

step "other names: REFUSED at DNS, dropped at L3"
expect_eq "dig other.example.org" REFUSED "$(dig_status @"$DNS" other.example.org)"
expect_eq "203.0.113.5:443 by IP" "000 (curl exit 28)" "$(T=2 code http://203.0.113.5:443/)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="EGRESS" and f.get("IP",{}).get("destination")=="203.0.113.5"')
[ "$n" -ge 1 ] || fail "no POLICY_DENIED egress flow toward 203.0.113.5 (got $n)"
echo "ok: $n POLICY_DENIED flows toward 203.0.113.5"

step "no race: 200 rounds of resolve-then-connect against a 1 s TTL"
out=$(pod $P bash -c 'ok=0; bad=0; for i in $(seq 200); do
  c=$(curl -s -o /dev/null -m 3 -w "%{http_code}" http://c.internal.example.com:443/); [ "$c" = 200 ] && ok=$((ok+1)) || bad=$((bad+1)); done; echo "ok=$ok failed=$bad"')
expect_eq "200 rounds" "ok=200 failed=0" "$out"

step "TTL expiry: new connections are dropped while an open one continues"
cached() {
  python3 -c 'import json, sys; d = json.load(open("/run/sluice/state/fqdn.json"))["names"]; print(" ".join(sorted(d.get(sys.argv[1], {}).keys())))' "$1"
}
expect_eq "dig b.internal.example.com" 198.51.100.8 "$(pod $P dig +short +time=3 +tries=1 @"$DNS" b.internal.example.com)"
learned() { [ "$(cached "$1")" = "$2" ]; }
wait_until "the agent wrote b.internal.example.com. to its cache file" learned b.internal.example.com. 198.51.100.8
expect_eq "b.internal.example.com. learned" 198.51.100.8 "$(cached b.internal.example.com.)"
# The TTL is 2 s and the sweep runs every second: new connections are polled (deadline 10 s)
# until one is dropped, the effect of the expiry; the open connection must still work after it.
out=$(pod $P python3 - <<'PY'
import socket, subprocess, time
s = socket.create_connection(("198.51.100.8", 443), timeout=3)
s.sendall(b"one\n"); first = s.recv(100).decode().strip()
deadline = time.monotonic() + 10
while True:
    new = subprocess.run(["nc", "-z", "-w", "1", "198.51.100.8", "443"]).returncode
    if new != 0 or time.monotonic() > deadline:
        break
    time.sleep(0.2)  # the poll's pace
s.sendall(b"two\n"); second = s.recv(100).decode().strip()
s.close()
print(first, second, "new-connection-rc", new)
PY
)
expect_eq "open connection continues, new one dropped" "one two new-connection-rc 1" "$out"
forgotten() { [ -z "$(cached "$1")" ]; }
WAIT_SECONDS=12 wait_until "b.internal.example.com. forgotten" forgotten b.internal.example.com.
expect_eq "expired and unused: forgotten within 12 s of the close" "" "$(cached b.internal.example.com.)"

step "toFQDNs with HTTP rules: the learned address's requests are decided by the proxy"
l7=$(mktemp --suffix .yaml)
cat > "$l7" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api-http
  namespace: production
spec:
  endpointSelector:
    matchLabels: {app: my-service}
  egress:
  - toFQDNs:
    - matchName: api.example.com
    toPorts:
    - ports:
      - port: "8443"
        protocol: TCP
      rules:
        http:
        - method: GET
YAML
apply "$l7"
rm -f "$l7"
expect_eq "GET api.example.com:8443" 200 "$(code http://api.example.com:8443/)"
expect_eq "POST api.example.com:8443" 403 "$(code -X POST http://api.example.com:8443/)"
expect_eq "GET 203.0.113.5:8443 (not learned, not api.example.com)" "000 (curl exit 28)" "$(T=2 code http://203.0.113.5:8443/)"
expect_flows "L7 flows toward api.example.com:8443" 2 \
  'f.get("l7",{}).get("type")=="REQUEST" and f.get("l4",{}).get("TCP",{}).get("destination_port")==8443'

step "flows name learned addresses (Hubble's destination_names, --to-fqdn)"
# The names come from the agent's cache file (api.example.com was learned at the start).
named=$(count_flows 'f["l7"]["type"]=="REQUEST" and f["destination_names"]==["api.example.com"]' --to-fqdn 'api.*.com' --port 8443 -t l7)
expect_eq "request flows to api.example.com:8443 by --to-fqdn" 2 "$named"
# The same query with another name (the control above shows it finds named flows).
other=$(flows_json --to-fqdn '*.example.org') || fail "observe --to-fqdn failed"
expect_eq "--to-fqdn other names: none" 0 "$(grep_count . <<<"$other")"
expect_contains "compact shows the name" "-> api.example.com:8443 (ID:" "$("$SLUICE" observe --all --to-fqdn api.example.com --port 8443)"

step "agent restart: learned allowances survive, DNS fails closed while down"
"$SLUICE" sandbox stop-agent
expect_eq "api.example.com:443 by IP while the agent is down" 200 "$(code http://192.0.2.10:443/)"
# dig's exit 9: no server answered (not a name error, not a missing tool).
expect_status "no DNS while the agent is down" 9 pod $P dig +short +time=1 +tries=1 @"$DNS" api.example.com >/dev/null
"$SLUICE" sandbox start-agent
expect_eq "api.example.com:443 by IP after restart" 200 "$(code http://192.0.2.10:443/)"
expect_eq "a.internal.example.com:443 by IP after restart" 200 "$(code http://198.51.100.7:443/)"
expect_eq "203.0.113.5:443 still dropped" "000 (curl exit 28)" "$(T=2 code http://203.0.113.5:443/)"
kill -0 "$(agent_pid)" || fail "agent died"
