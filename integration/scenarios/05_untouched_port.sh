# Ports without L7 rules are not touched: no steering, no proxy, no L7 flow (only the datapath's
# trace flows of allowed connections and its policy drops).
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "frontend -> db:6379" "hello-db" "$(echo hello-db | pod frontend/frontend nc -q1 -w3 db.database.svc.cluster.local 6379)"
# backend-http-rules selects backend for ingress, so backend's ingress is default-deny (Cilium:
# any rule selecting an endpoint in a direction enables default deny there): its port 6379 is
# dropped in the datapath, with a POLICY_DENIED flow, and never reaches the proxy.
denied_6379='f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f["l4"]["TCP"]["destination_port"]==6379 and f["destination"].get("pod_name")=="backend"'
# nc's connect times out (exit 1, no output): the SYN was dropped, with its flow.
expect_denied "frontend -> backend:6379 dropped" 1 "" "$denied_6379" \
  bash -c "echo hello-backend | '$SLUICE' sandbox exec frontend/frontend -- nc -q1 -w2 backend.backend.svc.cluster.local 6379"
expect_eq "default -> db:6379" "hello" "$(echo hello | pod default/client nc -q1 -w3 db.database.svc.cluster.local 6379)"
expect_eq "frontend's own port 80 (no policy)" 200 "$(http_code default/client http://frontend.frontend.svc.cluster.local/)"
# The datapath writes its flows as the packets pass, so the drop flow of 6379 (the control) is
# there once nc has returned. The allowed db:6379 connections are visible as tc trace flows
# (to-endpoint, FORWARDED), but none went through the proxy: no L7 flow names port 6379.
expect_flows "db:6379 connections seen by tc (trace, forwarded)" 2 \
  "f['l4']['TCP']['destination_port']==6379 and f['verdict']=='FORWARDED' and f['event_type']['type']==4 and f['destination'].get('pod_name')=='db' and f['l4']['TCP'].get('flags')=={'SYN': True}"
expect_absent "proxy flows (L7, or traces to the proxy) for port 6379" \
  "f['l4']['TCP']['destination_port']==6379 and ('l7' in f or f.get('trace_observation_point')=='TO_PROXY')" "$denied_6379"
# The steering map (`bpftool -j` gives each entry with its BTF-formatted fields): no entry for 6379, while
# the L7 port 80 of a request sent just now is there, so the dump is the right map and does list
# steered connections. (The earlier check grepped the dump for the hex bytes of 6379, which a JSON
# dump never contains: it could not fail.)
expect_eq "frontend -> backend:80 (L7 port, steered)" 200 "$(http_code frontend/frontend $BACKEND/get)"
steered=$(bpftool -j map dump pinned /sys/fs/bpf/sluice/sluice_steered) || fail "bpftool map dump sluice_steered failed"
steered_to() { python3 -c 'import json, sys; print(sum(1 for e in json.loads(sys.stdin.read()) if e["formatted"]["key"]["dst_port"] == int(sys.argv[1])))' "$1" <<<"$steered"; }
[ "$(steered_to 80)" -ge 1 ] || fail "no steered entry for port 80 in: $steered"
expect_eq "steered connections on 6379" 0 "$(steered_to 6379)"
