#!/usr/bin/env bash
# Issue 18: an invalid CNP among valid ones (accepted by the API server's schema, refused by
# Sluice's validation) is reported (`sluice status` of each agent names it, and each agent writes
# a Warning Event `kubectl get events` shows) and the valid ones are in force on both nodes, as
# Cilium does.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

kube_up
write_policies "$tmp/policies.yaml"
cat >>"$tmp/policies.yaml" <<'YAML'
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: broken-regex
  namespace: shop
spec:
  endpointSelector:
    matchLabels: {app: backend}
  ingress:
    - toPorts:
        - ports: [{port: "6379", protocol: TCP}]
          rules:
            http: [{method: GET, path: "/(unclosed"}]
YAML

step "kubectl apply: the server takes all three"
start=$(now_ms)
kctl apply -f "$tmp/policies.yaml"
expect_contains "the API server holds broken-regex" broken-regex "$(kctl get cnp -n shop -o name)"

step "the valid ones are in force on both nodes"
echo "valid policies in force on both after $(await_both "$start" backend-from-frontend) ms"
await_both "$start" frontend-to-backend >/dev/null
for sock in "$N1_SOCK" "$N2_SOCK"; do
  ! "$SLUICE" policy get --socket "$sock" | grep -q broken-regex || fail "broken-regex is in force at $sock"
done
WAIT_SECONDS=5 wait_until "frontend's first allowed request" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"
expect_enforced

step "the invalid one is reported by each agent"
for sock in "$N1_SOCK" "$N2_SOCK"; do
  WAIT_SECONDS=5 wait_until "status at $sock names broken-regex" \
    bash -c "\"$SLUICE\" status --socket $sock | grep -q broken-regex"
  "$SLUICE" status --socket "$sock" | grep broken-regex
done

step "kubectl get events: a Warning PolicyInvalid from each node names broken-regex and the field"
# One event per node for this version of the object (source sluice-agent, host n1 / n2).
events() { kctl get events -n shop --field-selector involvedObject.name=broken-regex -o wide 2>/dev/null || true; }
from_both() { events | grep PolicyInvalid | grep -q "sluice-agent, n1" && events | grep PolicyInvalid | grep -q "sluice-agent, n2"; }
WAIT_SECONDS=5 wait_until "events from n1 and n2" from_both
events
table=$(kctl get events -n shop)
echo "$table"
expect_contains "kubectl get events (spaces squeezed)" \
  "Warning PolicyInvalid ciliumnetworkpolicy/broken-regex spec.ingress[0].toPorts[0].rules.http[0].path: invalid regex" \
  "$(echo "$table" | tr -s ' ')"
expect_eq "events about broken-regex (one per node)" 2 "$(events | grep -c PolicyInvalid)"
expect_eq "events about the valid policies" "" \
  "$(kctl get events -n shop --field-selector involvedObject.name=backend-from-frontend -o name)"
