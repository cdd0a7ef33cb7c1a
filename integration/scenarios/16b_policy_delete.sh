# Deleting policies (issue 15), kubectl's way: `sluice delete -f FILE` and `sluice policy delete
# NAME -n NS` remove the objects from the running agent as one transaction, with kubectl's
# `<resource> "<name>" deleted` lines, and the enforcement follows: a connection the policy denied
# passes once it is deleted, and is denied again when the file is applied again. A name that is
# not in force is an error (exit 1, `not found`) that changes nothing, unless --ignore-not-found.
# The delete is stored: after an agent restart the deleted policy stays deleted.
source "$(dirname "$0")/../lib.sh"
sandbox_up
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
db_ip=$(ip_of db)
db() { nc_send "$1" "$db_ip" 6379 "hello from $1"; }

policy=$(mktemp --suffix .yaml)
trap 'rm -f "$policy"; cleanup' EXIT
cat > "$policy" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-from-backend, namespace: database}
spec:
  endpointSelector: {matchLabels: {app: database}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
    toPorts: [{ports: [{port: "6379", protocol: TCP}]}]
YAML

step "no policy: client -> db:6379 passes"
expect_eq "client -> db" "hello from default/client" "$(db default/client)"

step "the L4 allow for backend denies client"
expect_eq "apply" "ciliumnetworkpolicy.cilium.io/db-from-backend created" "$(apply "$policy")"
expect_eq "client -> db (denied: nc times out)" "(nc exit 1)" "$(db default/client)"
expect_eq "backend -> db" "hello from backend/backend" "$(db backend/backend)"

step "delete -f: the policy goes, client passes again"
expect_eq "delete -f" 'ciliumnetworkpolicy.cilium.io "db-from-backend" deleted' "$("$SLUICE" delete -f "$policy")"
expect_eq "policy get -o yaml after delete" "" "$("$SLUICE" policy get | grep db-from-backend || true)"
expect_eq "client -> db after delete" "hello from default/client" "$(db default/client)"

step "delete -f again: not found, exit 1, nothing changes; --ignore-not-found: exit 0"
out=$("$SLUICE" delete -f "$policy" 2>&1) && rc=0 || rc=$?
expect_eq "exit status" 1 "$rc"
expect_contains "message" 'ciliumnetworkpolicy.cilium.io "db-from-backend" not found' "$out"
expect_eq "--ignore-not-found" "" "$("$SLUICE" delete -f "$policy" --ignore-not-found)"

step "apply again (denied again), then policy delete NAME -n NS"
apply "$policy" >/dev/null
expect_eq "client -> db (denied again)" "(nc exit 1)" "$(db default/client)"
out=$("$SLUICE" policy delete db-from-backend 2>&1) && rc=0 || rc=$?
expect_eq "policy delete in namespace default: exit status" 1 "$rc"
expect_contains "policy delete in namespace default" '"db-from-backend" not found' "$out"
expect_eq "client -> db (still denied)" "(nc exit 1)" "$(db default/client)"
expect_eq "policy delete -n database" 'ciliumnetworkpolicy.cilium.io "db-from-backend" deleted' \
  "$("$SLUICE" policy delete db-from-backend -n database)"
expect_eq "client -> db after policy delete" "hello from default/client" "$(db default/client)"

step "the delete is stored: after an agent restart the policy stays deleted"
apply "$policy" >/dev/null
"$SLUICE" policy delete db-from-backend -n database >/dev/null
pid=$(agent_pid)
"$SLUICE" sandbox stop-agent
running "$pid" && fail "agent still running"
"$SLUICE" sandbox start-agent
[ "$(agent_pid)" != "$pid" ] || fail "the agent was not restarted"
expect_eq "policy get after restart" "" "$("$SLUICE" policy get | grep db-from-backend || true)"
expect_eq "client -> db after restart" "hello from default/client" "$(db default/client)"
