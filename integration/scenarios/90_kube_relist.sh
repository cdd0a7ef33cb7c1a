#!/usr/bin/env bash
# Issue 18: the fake API server forces 410 Gone (`/expire`: every watch ends with ERROR 410 and
# the history is compacted, so every agent must relist) three times while requests run across
# the nodes: no request the policy allows fails and none it denies passes; the policies stay in
# force on both agents throughout, and a change made after the relists still arrives.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

kube_up
write_policies "$tmp/policies.yaml"
start=$(now_ms)
kctl apply -f "$tmp/policies.yaml"
echo "in force on both after $(await_both "$start" frontend-to-backend) ms"
await_both "$start" backend-from-frontend >/dev/null
WAIT_SECONDS=5 wait_until "frontend's first allowed request" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"

step "requests run while the API server expires every watch"
# Allowed: frontend GET /get (200). Denied: frontend POST /post (403 at n2's proxy), intruder
# GET (dropped at n2: curl times out). Each loop writes one line per request.
( for _ in $(seq 1 60); do
    "$SLUICE" sandbox exec shop/frontend -- curl -s -o /dev/null -m 3 -w '%{http_code}\n' "http://$BACKEND_IP/get" || echo "curl-failed"
  done >"$tmp/allowed" ) &
allowed_pid=$!
( for _ in $(seq 1 60); do
    "$SLUICE" sandbox exec shop/frontend -- curl -s -o /dev/null -m 3 -w '%{http_code}\n' -X POST "http://$BACKEND_IP/post" || echo "curl-failed"
  done >"$tmp/l7denied" ) &
l7_pid=$!
( for _ in $(seq 1 20); do
    "$SLUICE" sandbox exec shop/intruder -- curl -s -o /dev/null -m 1 -w '%{http_code}\n' "http://$BACKEND_IP/get" || true
  done >"$tmp/dropped" ) &
drop_pid=$!
for round in 1 2 3; do
  # Each round waits for some requests to have run since the last, so the expiries land amid them.
  want=$((round * 12))
  WAIT_SECONDS=30 wait_until "$want allowed requests done" bash -c "[ \$(wc -l <$tmp/allowed) -ge $want ]"
  fake /expire
  echo "expired every watch (round $round) after $(wc -l <"$tmp/allowed") allowed requests"
  in_force "$N1_SOCK" frontend-to-backend || fail "n1 lost frontend-to-backend during the relist"
  in_force "$N2_SOCK" backend-from-frontend || fail "n2 lost backend-from-frontend during the relist"
done
wait "$allowed_pid" "$l7_pid" "$drop_pid"

step "every allowed request passed, every denied one was denied"
expect_eq "allowed requests" 60 "$(grep_count . "$tmp/allowed")"
expect_eq "allowed requests answered 200" 60 "$(grep_count -x 200 "$tmp/allowed")"
expect_eq "L7-denied requests answered 403" 60 "$(grep_count -x 403 "$tmp/l7denied")"
expect_eq "intruder requests answered" 0 "$(grep_count -v -x 000 "$tmp/dropped")"
expect_eq "intruder requests made" 20 "$(grep_count -x 000 "$tmp/dropped")"

step "after the relists a change still reaches both agents"
kctl delete cnp -n shop backend-from-frontend
WAIT_SECONDS=5 wait_until "n2 dropped backend-from-frontend" bash -c "! \"$SLUICE\" policy get --socket $N2_SOCK | grep -q backend-from-frontend"
WAIT_SECONDS=5 wait_until "n1 dropped backend-from-frontend" bash -c "! \"$SLUICE\" policy get --socket $N1_SOCK | grep -q backend-from-frontend"
expect_eq "intruder once n2's ingress policy is gone" 200 "$(http_code shop/intruder "http://$BACKEND_IP/get")"
kctl delete cnp -n shop frontend-to-backend
WAIT_SECONDS=5 wait_until "n1 dropped frontend-to-backend" bash -c "! \"$SLUICE\" policy get --socket $N1_SOCK | grep -q frontend-to-backend"
expect_eq "frontend to the world once n1's egress policy is gone" 200 "$(http_code shop/frontend http://192.0.2.10/)"
