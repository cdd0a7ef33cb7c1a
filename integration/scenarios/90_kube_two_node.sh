#!/usr/bin/env bash
# Issue 18: the two-node sandbox itself. Two node namespaces with an agent each (own pins and
# socket), pods on both, routed to each other; the fake API server with the sandbox's
# namespaces and pods registered (IPs, nodes) as a kubelet would, reachable with kubectl;
# exec, DNS and the world from either node; down removes both nodes' pins and sockets.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"

step "two-node sandbox up"
kube_up
for netns in sluice-node sluice-node_n2 sluice-shop-frontend sluice-shop-backend sluice-world; do
  ip netns list | grep -qw "$netns" || fail "network namespace $netns is missing"
done
[ -S "$N1_SOCK" ] && [ -S "$N2_SOCK" ] || fail "an agent socket is missing"
[ -e /sys/fs/bpf/sluice/sluice_flows ] && [ -e /sys/fs/bpf/sluice-n2/sluice_flows ] || fail "a node's pins are missing"
expect_contains "n2's status names its node" "n2" "$("$SLUICE" status --socket "$N2_SOCK")"

step "the API server knows the pods and their nodes, as a kubelet registered them"
pods=$(kctl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.nodeName} {.status.podIP} {.status.phase}{"\n"}{end}')
echo "$pods"
expect_contains "backend" "shop/backend n2 $BACKEND_IP Running" "$pods"
expect_contains "frontend" "shop/frontend n1 10.244.1.11 Running" "$pods"
expect_contains "kube-dns" "kube-system/kube-dns n1 10.244.1.10 Running" "$pods"
expect_eq "namespace shop's label" shop "$(kctl get namespace shop -o jsonpath='{.metadata.labels.team}')"

step "pods reach each other across the nodes (no policy yet)"
expect_eq "frontend (n1) -> backend (n2)" 200 "$(http_code shop/frontend "http://$BACKEND_IP/get")"
expect_eq "by name through kube-dns on n1" 200 "$(http_code shop/frontend http://backend.shop.svc.cluster.local/get)"
expect_eq "backend (n2) resolves through kube-dns on n1" "10.244.1.11" "$(dig_short shop/backend frontend.shop.svc.cluster.local)"
expect_eq "backend (n2) -> the world" 200 "$(http_code shop/backend http://api.example.com/)"
expect_eq "intruder (n1) -> backend (n2)" 200 "$(http_code shop/intruder "http://$BACKEND_IP/get")"
expect_eq "exec on node n2" "sluice-node_n2" "$("$SLUICE" sandbox exec node/n2 -- ip netns identify)"

step "n2 saw the request on its pod's veth, n1 on its sender's"
await_flows 1 'f["destination"].get("pod_name")=="backend" and f["IP"]["source"]=="10.244.1.11"' --node n2 >/dev/null
await_flows 1 'f["source"].get("pod_name")=="frontend" and f["IP"]["destination"]=="'$BACKEND_IP'"' >/dev/null

step "down removes both nodes"
"$SLUICE" sandbox down
for path in /sys/fs/bpf/sluice-n2 /run/sluice/nodes "$N1_SOCK" /run/sluice/sandbox; do
  [ ! -e "$path" ] || fail "$path is left after down"
done
! ip netns list | grep -q '^sluice-' || fail "namespaces left: $(ip netns list | grep '^sluice-')"
echo "ok: nothing left"
