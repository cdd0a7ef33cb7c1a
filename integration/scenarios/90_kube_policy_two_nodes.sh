#!/usr/bin/env bash
# Issue 18: a policy applied with kubectl reaches both agents within 1 s (measured, printed);
# frontend on n1 (role=frontend) reaches backend on n2, intruder on n1 is dropped at n2 with its
# own identity in n2's flow, n1 enforces frontend's egress; `sluice apply -f` of the same kind
# of object works in the two-node sandbox too and reaches both nodes.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/kube.bash"
tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

kube_up
write_policies "$tmp/policies.yaml"

step "kubectl apply: in force on both agents within 1 s"
# Measured from kubectl's return (the objects are in the API server then; kubectl's own start-up
# and discovery are printed apart), to the moment `sluice policy get` of both agents lists them.
start=$(now_ms)
kctl apply -f "$tmp/policies.yaml"
applied=$(now_ms)
ms_a=$(await_both "$applied" backend-from-frontend)
ms_b=$(await_both "$applied" frontend-to-backend)
echo "kubectl apply took $((applied - start)) ms; then in force on n1 and n2: backend-from-frontend ${ms_a} ms, frontend-to-backend ${ms_b} ms"
[ "$ms_a" -le 1000 ] && [ "$ms_b" -le 1000 ] || fail "a policy took more than 1 s to reach both agents"

step "enforcement across the nodes"
WAIT_SECONDS=5 wait_until "frontend's first allowed request" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"
expect_enforced

step "n2's flow of the drop carries the sender's (intruder on n1) own identity, the number n1 gives it"
drop='f["verdict"]=="DROPPED" and f["IP"]["source"]=="10.244.1.12" and f["IP"]["destination"]=="'$BACKEND_IP'"'
await_flows 1 "$drop" --node n2 >/dev/null
await_flows 1 'f["IP"]["source"]=="10.244.1.12" and f["source"].get("pod_name")=="intruder"' >/dev/null
flow=$("$SLUICE" observe --node n2 --all -o json --verdict DROPPED | grep '"10.244.1.12"' | tail -n 1)
sender=$("$SLUICE" observe --all -o json --from-ip 10.244.1.12 | grep '"pod_name":"intruder"' | tail -n 1)
echo "n2: $flow"
echo "n1: $sender"
python3 - "$flow" "$sender" <<'PY' || fail "n2's drop flow does not carry intruder's identity"
import json, sys
f, s = (json.loads(a) for a in sys.argv[1:3])
f, s = f.get("flow", f), s.get("flow", s)
src, own = f["source"], s["source"]
assert src.get("identity", 0) not in (0, 2), f"identity {src.get('identity')} (world or none)"
assert src["identity"] == own["identity"], f"n2 saw identity {src['identity']}, n1 gives intruder {own['identity']}"
assert any(l.endswith("app=intruder") for l in own.get("labels", [])), own
# Labels and pod name of a remote sender: shown when n2's agent lists them in its endpoints.json.
labels = src.get("labels", [])
assert not labels or any(l.endswith("app=intruder") for l in labels), labels
assert src.get("pod_name", "intruder") == "intruder", src
print("ok: n2's drop names identity", src["identity"], "= intruder's on n1", own.get("labels"),
      "| n2's own labels for it:", labels or "(none listed)", "| pod name:", src.get("pod_name", "(none listed)"))
PY
await_flows 1 'f["verdict"]=="FORWARDED" and l7.get("type")=="REQUEST" and http.get("url","").endswith("/get") and f["source"]["identity"] not in (0, 2)' --node n2 >/dev/null

step "kubectl delete: gone from both"
kctl delete -f "$tmp/policies.yaml"
WAIT_SECONDS=5 wait_until "deleted on n1" bash -c "! \"$SLUICE\" policy get --socket $N1_SOCK | grep -q backend-from-frontend"
WAIT_SECONDS=5 wait_until "deleted on n2" bash -c "! \"$SLUICE\" policy get --socket $N2_SOCK | grep -q backend-from-frontend"
expect_eq "intruder after the delete" 200 "$(http_code shop/intruder "http://$BACKEND_IP/get")"

step "sluice apply -f in the two-node sandbox reaches both nodes"
start=$(now_ms)
"$SLUICE" apply -f "$tmp/policies.yaml"
ms=$(await_both "$start" backend-from-frontend)
echo "sluice apply -> in force on both: ${ms} ms"
WAIT_SECONDS=5 wait_until "frontend allowed again" \
  bash -c "[ \"\$(\"$SLUICE\" sandbox exec shop/frontend -- curl -s -o /dev/null -m 2 -w '%{http_code}' http://$BACKEND_IP/get)\" = 200 ]"
expect_enforced
expect_contains "kubectl sees what sluice apply sent" backend-from-frontend "$(kctl get cnp -n shop -o name)"
