#!/usr/bin/env bash
# Issue 18: the API server is stopped (`/stop`: port closed, every connection and watch cut) and
# started again; while it is away both agents keep enforcing the last good state exactly (checked
# request by request, several times), kubectl fails, and once it is back a change made then
# reaches both agents.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

kube_up
write_policies "$tmp/policies.yaml"
start=$(now_ms)
kctl apply -f "$tmp/policies.yaml"
await_both "$start" backend-from-frontend >/dev/null
await_both "$start" frontend-to-backend >/dev/null
WAIT_SECONDS=5 wait_until "frontend's first allowed request" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"
expect_enforced

step "the API server goes away"
fake /stop
expect_status "kubectl while the API server is away" 1 kctl get pods -A >/dev/null
for round in 1 2 3; do
  echo "round $round without the API server"
  expect_enforced
  in_force "$N1_SOCK" frontend-to-backend || fail "n1 lost its policy while the API was away"
  in_force "$N2_SOCK" backend-from-frontend || fail "n2 lost its policy while the API was away"
done
"$SLUICE" status --socket "$N2_SOCK" || true

step "the API server comes back; a change made now reaches both agents"
fake /start
WAIT_SECONDS=10 wait_until "kubectl answers again" kctl get ns shop
expect_enforced
start=$(now_ms)
kctl delete cnp -n shop backend-from-frontend
WAIT_SECONDS=10 wait_until "n2 dropped backend-from-frontend" bash -c "! \"$SLUICE\" policy get --socket $N2_SOCK | grep -q backend-from-frontend"
echo "delete after the restart reached n2 in $(($(now_ms) - start)) ms"
expect_eq "intruder once n2's ingress policy is gone" 200 "$(http_code shop/intruder "http://$BACKEND_IP/get")"
