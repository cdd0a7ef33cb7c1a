# `sluice demo` (what `make demo` runs) succeeds and shows each step and the flows.
source "$(dirname "$0")/../lib.sh"
out=$("$SLUICE" demo 2>&1)
echo "$out"
expect_contains "demo" "200 (expected 200) ok" "$out"
expect_contains "demo" "403 (expected 403) ok" "$out"
expect_contains "demo" "Access denied" "$out"
expect_contains "demo" "http-request DROPPED (HTTP/1.1 POST http://backend.backend.svc.cluster.local/post)" "$out"
expect_contains "demo" "== demo done ==" "$out"
# The demo brought the sandbox up (the requests above went through its namespaces) and down.
netns=$(ip netns list) || fail "ip netns list failed"
expect_eq "sluice- namespaces left after the demo" 0 "$(grep_count sluice- <<<"$netns")"
# Act 2: the blog's L3/L4 sequence.
expect_contains "demo act 2" "== Act 2: service boundaries (blog), L3/L4 policy in the datapath ==" "$out"
expect_contains "demo act 2" "frontend/test: curl -sI http://api.backend.svc.cluster.local/ -> 000 (expected 000) ok" "$out"
expect_contains "demo act 2" "frontend/test: dig +short kubernetes.default.svc.cluster.local -> 10.96.0.1 (expected 10.96.0.1) ok" "$out"
expect_contains "demo act 2" "backend/app: nc -z postgres.db.svc.cluster.local 5432 -> open (expected open) ok" "$out"
expect_contains "demo act 2" "frontend/test: nc -z postgres.db.svc.cluster.local 5432 -> closed (expected closed) ok" "$out"
expect_contains "demo act 2" "curl -sI http://api.backend.svc.cluster.local/h -> 404 (expected 404) ok" "$out"
expect_contains "demo act 2" "Policy denied DROPPED" "$out"
expect_contains "demo act 2" "http-request FORWARDED (HTTP/1.1 HEAD http://api.backend.svc.cluster.local/h)" "$out"
if echo "$out" | grep -q UNEXPECTED; then fail "a demo step gave an unexpected result"; fi
echo "ok: no UNEXPECTED step"
