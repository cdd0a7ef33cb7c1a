# `sluice demo` (what `make demo` runs) succeeds and shows each step and the flows.
source "$(dirname "$0")/../lib.sh"
out=$("$SLUICE" demo 2>&1)
echo "$out"
expect_contains "demo" "200 (expected 200) ok" "$out"
expect_contains "demo" "403 (expected 403) ok" "$out"
expect_contains "demo" "Access denied" "$out"
expect_contains "demo" "http-request DROPPED (HTTP/1.1 POST http://backend.backend.svc.cluster.local/post)" "$out"
expect_contains "demo" "== demo done ==" "$out"
expect_eq "sandbox removed" "" "$(ip netns list | grep sluice- || true)"
