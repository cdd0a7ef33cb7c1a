# toFQDNs learning (issue 4): answers for names a toFQDNs selector matches are kept in the
# node-wide FQDN cache, persisted to <state dir>/fqdn.json within about a second; names no
# selector matches are not kept; the cache survives an agent restart; DNS fails closed while the
# agent is down.
source "$(dirname "$0")/../lib.sh"
topo=$(mktemp --suffix .yaml)
trap 'rm -f "$topo"; cleanup' EXIT
cat > "$topo" <<'YAML'
namespaces:
  - name: frontend
    labels: {name: frontend}
pods:
  - name: frontend
    namespace: frontend
    labels: {app: frontend}
world:
  - name: api.example.com
    addresses: [192.0.2.10]
    ttl: 60
  - name: www.example.org
    addresses: [192.0.2.20]
    ttl: 60
  - name: db.example.net
    addresses: [192.0.2.30]
    ttl: 60
YAML
sandbox_up "$topo"
apply "$ROOT/integration/policies/dns-fqdn.yaml"
DNS=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["dnsIP"])')
STATE=/run/sluice/state/fqdn.json
resolve() { pod frontend/frontend dig +short +time=3 +tries=1 "$@"; }
cached() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))["names"]; print(" ".join(sorted(d.get(sys.argv[2], {}).keys())))' "$STATE" "$1"
}

step "lookups through the proxy"
# www.example.org first: the cache file that holds api.example.com (looked up after it) was
# written after www.example.org's answer too, so its absence there is evidence.
expect_eq "www.example.org" 192.0.2.20 "$(resolve +tcp @"$DNS" www.example.org)"
expect_eq "api.example.com" 192.0.2.10 "$(resolve @"$DNS" api.example.com)"
# learned NAME IP: the agent's cache file (written within a second of a change) maps NAME to IP.
learned() { [ -f "$STATE" ] && [ "$(cached "$1")" = "$2" ]; }
wait_until "the agent wrote api.example.com. to $STATE" learned api.example.com. 192.0.2.10
expect_eq "learned api.example.com." 192.0.2.10 "$(cached api.example.com.)"
expect_eq "www.example.org. not learned (no selector)" "" "$(cached www.example.org.)"

step "agent restart: DNS fails closed while down, the cache survives"
"$SLUICE" sandbox stop-agent
# dig's exit 9: no server answered (not a name error, not a missing tool).
expect_status "no answer while the agent is down" 9 resolve @"$DNS" api.example.com >/dev/null
"$SLUICE" sandbox start-agent
expect_eq "db.example.net after restart" 192.0.2.30 "$(resolve @"$DNS" db.example.net)"
wait_until "the agent wrote db.example.net. to $STATE" learned db.example.net. 192.0.2.30
expect_eq "learned db.example.net." 192.0.2.30 "$(cached db.example.net.)"
expect_eq "api.example.com. kept across the restart" 192.0.2.10 "$(cached api.example.com.)"
