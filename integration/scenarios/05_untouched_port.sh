# Ports without L7 rules are not touched: no steering, no proxy, no L7 flow (only the datapath's
# trace flows of allowed connections and its policy drops).
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "frontend -> db:6379" "hello-db" "$(echo hello-db | pod frontend/frontend nc -q1 -w3 db.database.svc.cluster.local 6379)"
# backend-http-rules selects backend for ingress, so backend's ingress is default-deny (Cilium:
# any rule selecting an endpoint in a direction enables default deny there): its port 6379 is
# dropped in the datapath, with a POLICY_DENIED flow, and never reaches the proxy.
expect_eq "frontend -> backend:6379 dropped" "" "$(echo hello-backend | pod frontend/frontend nc -q1 -w2 backend.backend.svc.cluster.local 6379 || true)"
expect_eq "default -> db:6379" "hello" "$(echo hello | pod default/client nc -q1 -w3 db.database.svc.cluster.local 6379)"
expect_eq "frontend's own port 80 (no policy)" 200 "$(http_code default/client http://frontend.frontend.svc.cluster.local/)"
sleep 0.2
# Untouched: no L7 flow and no trace toward the proxy; the datapath's own trace flows of the
# allowed connections (to-endpoint) are all there is besides the policy drops.
expect_eq "L7 or to-proxy flows for port 6379" 0 "$(count_flows "f.get('l4',{}).get('TCP',{}).get('destination_port')==6379 and (f.get('Type')=='L7' or f.get('trace_observation_point')=='TO_PROXY')")"
expect_eq "other flows for port 6379 than policy drops and to-endpoint traces" 0 "$(count_flows "f.get('l4',{}).get('TCP',{}).get('destination_port')==6379 and f.get('drop_reason_desc')!='POLICY_DENIED' and f.get('trace_observation_point')!='TO_ENDPOINT'")"
n=$(count_flows "f.get('l4',{}).get('TCP',{}).get('destination_port')==6379 and f.get('drop_reason_desc')=='POLICY_DENIED' and f['destination'].get('pod_name')=='backend'")
[ "$n" -ge 1 ] || fail "no POLICY_DENIED flow for backend:6379"
echo "ok: $n POLICY_DENIED flows for backend:6379"
expect_eq "steered connections on 6379" 0 "$(bpftool map dump pinned /sys/fs/bpf/sluice/sluice_steered 2>/dev/null | grep -c '0x18 0xeb' || true)"
