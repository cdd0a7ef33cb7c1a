# Ports without L7 rules are not touched: no steering, no proxy, no flow.
source "$(dirname "$0")/../lib.sh"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "frontend -> db:6379" "hello-db" "$(echo hello-db | pod frontend/frontend nc -q1 -w3 db.database.svc.cluster.local 6379)"
expect_eq "frontend -> backend:6379" "hello-backend" "$(echo hello-backend | pod frontend/frontend nc -q1 -w3 backend.backend.svc.cluster.local 6379)"
expect_eq "default -> db:6379" "hello" "$(echo hello | pod default/client nc -q1 -w3 db.database.svc.cluster.local 6379)"
expect_eq "frontend's own port 80 (no policy)" 200 "$(http_code default/client http://frontend.frontend.svc.cluster.local/)"
sleep 0.2
expect_eq "flows for port 6379" 0 "$(count_flows "f.get('l4',{}).get('TCP',{}).get('destination_port')==6379")"
expect_eq "steered connections on 6379" 0 "$(bpftool map dump pinned /sys/fs/bpf/sluice/sluice_steered 2>/dev/null | grep -c '0x18 0xeb' || true)"
