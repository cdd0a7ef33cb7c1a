#!/usr/bin/env bash
# Issue 18: local pods from the API, as on a real cluster where no endpoints file exists. Both
# agents of the two-node sandbox run with --endpoints-from=kubernetes: they take no endpoint from
# the sandbox's files, but this node's pods from the fake API server (spec.nodeName, registered by
# the sandbox as a kubelet would) and each pod's host veth from the /32 route the sandbox set to
# it (as a CNI does). A policy applied with kubectl is enforced on those pods (an allowed and a
# denied request, flows naming the pods); a pod deleted from the API stops being an endpoint. The
# node's own addresses are host: `sluice status` lists them, and the node reaches its pod under a
# `fromEntities: host` policy with identity host (1) in the flow, as a kubelet probe would.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

# endpoints SOCKET: the agent's endpoints, one `namespace/pod ipv4 attached` line each, sorted.
endpoints() {
  "$SLUICE" endpoint list --socket "$1" -o json | python3 -c '
import json, sys
for e in sorted(json.load(sys.stdin), key=lambda e: (e["namespace"], e["pod"])):
    print("%s/%s %s %s" % (e["namespace"], e["pod"], e["ipv4"], "attached" if e["attached"] else "detached"))'
}

# await_endpoints SOCKET WANT: polls (deadline WAIT_SECONDS) until `endpoints SOCKET` is WANT.
await_endpoints() {
  local socket=$1 want=$2 got deadline=$((SECONDS + ${WAIT_SECONDS:-10}))
  while :; do
    got=$(endpoints "$socket") || fail "sluice endpoint list --socket $socket failed"
    [ "$got" = "$want" ] && { echo "$got"; return 0; }
    [ "$SECONDS" -lt "$deadline" ] || fail "endpoints of $socket after ${WAIT_SECONDS:-10} s:
$got
wanted:
$want"
    sleep 0.1
  done
}

step "two-node sandbox up, both agents with --endpoints-from=kubernetes"
kube_up --agent-arg=--endpoints-from=kubernetes
python3 - <<'PY' || fail "an agent does not run with --endpoints-from=kubernetes"
import json
state = json.load(open("/run/sluice/sandbox/state.json"))
for node in state["nodes"]:
    command = open("/proc/%d/cmdline" % node["agentPID"]).read().split("\0")
    assert "--endpoints-from=kubernetes" in command, (node["name"], command)
    print(node["name"], "agent:", " ".join(command[1:]))
PY

step "each agent found its node's pods in the API and their veths by route"
await_endpoints "$N1_SOCK" "kube-system/kube-dns 10.244.1.10 attached
shop/frontend 10.244.1.11 attached
shop/intruder 10.244.1.12 attached"
await_endpoints "$N2_SOCK" "shop/backend $BACKEND_IP attached"
# The tc programs are on the veths the routes name (not on the uplink).
dev=$(ip -n sluice-node_n2 -o route get "$BACKEND_IP" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
[ -n "$dev" ] || fail "no route to $BACKEND_IP on n2"
expect_contains "n2's route interface to backend ($dev) has Sluice's ingress program" "sluice" \
  "$(ip netns exec sluice-node_n2 tc filter show dev "$dev" ingress)"
expect_contains "... and its egress program" "sluice" "$(ip netns exec sluice-node_n2 tc filter show dev "$dev" egress)"

step "a policy applied with kubectl is enforced on the pods discovered from the API"
write_policies "$tmp/policies.yaml"
kctl apply -f "$tmp/policies.yaml"
await_both "$(now_ms)" backend-from-frontend >/dev/null
await_both "$(now_ms)" frontend-to-backend >/dev/null
WAIT_SECONDS=5 wait_until "frontend's first allowed request" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"
expect_enforced
expect_contains "n2's backend endpoint is under ingress enforcement" "Enabled" \
  "$("$SLUICE" endpoint list --socket "$N2_SOCK" | grep "$BACKEND_IP")"

step "the flows name the pods on both nodes"
await_flows 1 'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("url","").endswith("/get") and f["destination"].get("pod_name")=="backend" and f["source"]["identity"] not in (0, 2)' --node n2 >/dev/null
await_flows 1 'f["verdict"]=="DROPPED" and f["IP"]["source"]=="10.244.1.12" and f["destination"].get("pod_name")=="backend"' --node n2 >/dev/null
await_flows 1 'f["source"].get("pod_name")=="frontend" and f["IP"]["destination"]=="'$BACKEND_IP'"' >/dev/null
await_flows 1 'f["source"].get("pod_name")=="intruder" and f["IP"]["destination"]=="'$BACKEND_IP'"' >/dev/null
echo "ok: n2 names backend (allowed GET /get and the dropped intruder), n1 names frontend and intruder"

step "a pod deleted from the API stops being an endpoint (the others stay)"
intruder_dev=$(ip -n sluice-node -o route get 10.244.1.12 | sed -n 's/.* dev \([^ ]*\).*/\1/p')
kctl delete pod -n shop intruder
await_endpoints "$N1_SOCK" "kube-system/kube-dns 10.244.1.10 attached
shop/frontend 10.244.1.11 attached" >/dev/null
"$SLUICE" endpoint list --socket "$N1_SOCK"
[ -n "$intruder_dev" ] || fail "no route to intruder on n1"
expect_eq "intruder's veth ($intruder_dev) has no Sluice program left" "" \
  "$(ip netns exec sluice-node tc filter show dev "$intruder_dev" ingress | grep sluice || true)"
expect_eq "frontend (n1) still allowed to backend (n2)" 200 "$(http_code shop/frontend "http://$BACKEND_IP/get")"
expect_eq "... and still denied POST at n2" 403 "$(http_code shop/frontend -X POST "http://$BACKEND_IP/post")"
await_endpoints "$N2_SOCK" "shop/backend $BACKEND_IP attached" >/dev/null

step "the node's own addresses are host without an endpoints entry naming them: n2's node reaches backend"
n2_hosts=$("$SLUICE" status --socket "$N2_SOCK" | sed -n 's/^  node addresses (host): //p')
echo "n2 node addresses (host): $n2_hosts"
n2_ip=$(python3 -c 'import json; print([n["ip"] for n in json.load(open("/run/sluice/sandbox/state.json"))["nodes"] if n["name"] == "n2"][0])')
expect_contains "n2's status lists its address (its interfaces, its pods' hostIP) as host" "$n2_ip" "$n2_hosts"
cat >"$tmp/host.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: backend-from-host
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: backend}
  ingress:
    - fromEntities: [host]
      toPorts:
        - ports: [{port: "80", protocol: TCP}]
YAML
kctl apply -f "$tmp/host.yaml"
await_both "$(now_ms)" backend-from-host >/dev/null
code=$(ip netns exec sluice-node_n2 curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$BACKEND_IP/get") || true
expect_eq "n2's node (as a kubelet probe) GET backend under a fromEntities: host policy" 200 "$code"
await_flows 1 'f["destination"].get("pod_name")=="backend" and f["source"]["identity"]==1' --node n2 >/dev/null
echo "ok: n2 saw the node's request to backend as identity host (1)"
