# The seed tutorials' workflow with a real third-party reader of Hubble's JSON (issue 15): watch the
# baseline traffic with no policy, export it with `sluice observe -o jsonpb`, let PyPI's
# hubble-audit2policy (--no-enrich: no cluster to ask) write CiliumNetworkPolicies from it, apply
# them with `sluice apply`: the observed traffic still flows, everything else is now denied.
# The export takes the connections' opening packets (trace flows with SYN and without ACK, as
# `hubble observe --type trace --tcp-flags SYN --not --tcp-flags ACK` would): the tool reads every
# flow's destination port as a service port, so replies (whose destination is the client's
# ephemeral port) must not reach it.
source "$(dirname "$0")/../lib.sh"
A2P="$ROOT/.venv/bin/hubble-audit2policy"
[ -x "$A2P" ] || fail "$A2P is missing (make deps installs hubble-audit2policy)"
sandbox_up
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
backend_ip=$(ip_of backend)
db_ip=$(ip_of db)
frontend_ip=$(ip_of frontend)
work=$(mktemp -d)
trap 'rm -rf "$work"; cleanup' EXIT

# The traffic the application needs (by address: DNS is not part of this baseline).
baseline() {
  expect_eq "frontend -> backend:80 /get" 200 "$(http_code frontend/frontend "http://$backend_ip/get")"
  expect_eq "backend -> db:6379" "ping" "$(echo ping | pod backend/backend nc -q1 -w3 "$db_ip" 6379)"
}

step "baseline traffic, no policy"
baseline
opening='f["l4"]["TCP"].get("flags") == {"SYN": True}'
await_flows 1 "$opening and f[\"destination\"].get(\"pod_name\") == \"db\"" --type trace >/dev/null
await_flows 1 "$opening and f[\"destination\"].get(\"pod_name\") == \"backend\"" --type trace >/dev/null

step "export and generate"
"$SLUICE" observe --all -o jsonpb --type trace --tcp-flags SYN --not --tcp-flags ACK >"$work/flows.json"
wc -l <"$work/flows.json"
"$A2P" "$work/flows.json" --no-enrich --single-file "$work/policies.yaml" --report 2>"$work/report.txt" \
  || { cat "$work/report.txt" >&2; fail "hubble-audit2policy failed"; }
cat "$work/report.txt"
cat "$work/policies.yaml"
kinds=$(grep -c '^kind: CiliumNetworkPolicy' "$work/policies.yaml")
[ "$kinds" -ge 3 ] || fail "expected policies for frontend, backend and db, got $kinds"
expect_contains "policies" "name: allow-backend" "$(cat "$work/policies.yaml")"
expect_contains "policies" "name: allow-database" "$(cat "$work/policies.yaml")"
expect_contains "policies" "port: '6379'" "$(cat "$work/policies.yaml")"

step "apply: the observed traffic still flows"
"$SLUICE" apply -f "$work/policies.yaml"
baseline

step "everything else is denied"
expect_eq "client -> backend:80 (not observed, dropped: the client times out)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code default/client "http://$backend_ip/get")"
expect_eq "backend -> frontend:80 (not observed, dropped: the client times out)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code backend/backend "http://$frontend_ip/")"
expect_eq "frontend -> db:6379 (not observed, dropped)" "(nc exit 1)" "$(nc_send frontend/frontend "$db_ip" 6379 ping)"
expect_eq "frontend -> backend:6379 (port not observed, dropped)" "(nc exit 1)" "$(nc_send frontend/frontend "$backend_ip" 6379 ping)"
denied='f["verdict"] == "DROPPED" and f.get("drop_reason_desc") == "POLICY_DENIED"'
await_flows 4 "$denied" --type drop >/dev/null
echo "ok: the unobserved connections were dropped by policy"
