# The agent is its own executable, sluice-agent, built without Foundation, Yams or
# ArgumentParser (their code and static initialisers are most of a Swift binary's resident
# memory). `sluice agent` execs it; its command line names the option in every error; the CLI
# parses policy YAML and the agent keeps the parsed documents, so a YAML syntax error is still
# reported with file, line and column, and policies survive a restart.
source "$(dirname "$0")/../lib.sh"
AGENT="$ROOT/.build/release/sluice-agent"
step "sluice-agent links no Foundation, Yams or ArgumentParser code"
[ -x "$AGENT" ] || fail "$AGENT not built"
agent_symbols=$(nm "$AGENT") || fail "nm $AGENT failed"
cli_symbols=$(nm "$ROOT/.build/release/sluice") || fail "nm sluice failed"
# The control: the CLI does hold Yams and Foundation, so the same grep over the agent can see them.
[ "$(grep_count '\$s4Yams' <<<"$cli_symbols")" -gt 0 ] || fail "the CLI should hold Yams (the check below would be vacuous)"
for module in 10Foundation 20FoundationEssentials 30FoundationInternationalization 4Yams 14ArgumentParser; do
  expect_eq "symbols of module $module in sluice-agent" 0 "$(grep_count "\$s$module" <<<"$agent_symbols")"
done
expect_eq "CoreFoundation symbols in sluice-agent" 0 "$(grep_count ' T __CFInitialize' <<<"$agent_symbols")"

step "sluice agent execs sluice-agent: its help and its errors"
expect_contains "sluice agent --help" "--fqdn-min-ttl <seconds>" "$("$SLUICE" agent --help)"
out=$("$SLUICE" agent --workers none 2>&1) && rc=0 || rc=$?
expect_eq "exit status of a bad option" 64 "$rc"
expect_contains "error names the option" "--workers: 'none' is not an integer" "$out"
out=$("$AGENT" --no-such-option 2>&1) && rc=0 || rc=$?
expect_eq "exit status of an unknown option" 64 "$rc"
expect_contains "unknown option" "unknown option '--no-such-option'" "$out"

sandbox_up
pid=$(agent_pid)
expect_eq "the sandbox's agent process" "sluice-agent" "$(cat /proc/$pid/comm)"
threads=$(cat /proc/$pid/task/*/comm | sort | tr '\n' ' ')
expect_contains "the agent's threads carry their names (top -H, perf, bench cgroups)" "worker-0 " "$threads"
expect_eq "one thread per name among the workers" \
  "$(printf '%s\n' $threads | grep -c '^worker-')" "$(printf '%s\n' $threads | grep '^worker-' | sort -u | wc -l)"
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "GET /get allowed" 200 "$(http_code frontend/frontend $BACKEND/get)"
echo "agent memory: $(grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \n' ' ')"

step "a YAML syntax error is reported by the CLI with file, line and column; the policy in force stays"
bad=$(mktemp --suffix=.yaml)
printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: broken\n  labels: [a, b\n' >"$bad"
out=$("$SLUICE" apply -f "$bad" 2>&1) && rc=0 || rc=$?
rm -f "$bad"
expect_eq "exit status" 1 "$rc"
expect_contains "error names the file" "$bad:" "$out"
case "$out" in *"$bad:"[0-9]*:[0-9]*) echo "ok: file:line:column in [$out]" ;; *) fail "no file:line:column in [$out]" ;; esac
expect_eq "POST still denied by the policy in force" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"

step "the stored documents survive a restart"
ls /run/sluice/state/policies/ | grep -q '\.json$' || fail "no stored policy documents"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent
expect_eq "GET /get after restart" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post after restart" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_contains "policy get after restart" "backend-http-rules" "$("$SLUICE" policy get)"

step "re-applying a file replaces its stored copy; a file with other objects is kept beside it"
stored() {
  local files
  files=$(ls /run/sluice/state/policies/) || fail "cannot list the policy store"
  grep_count '\.json$' <<<"$files"
}
before=$(stored)
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "stored files after applying the same file twice more" "$before" "$(stored)"
extra=$(mktemp --suffix=.yaml)
printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: scenario09-extra\n  namespace: default\nspec:\n  endpointSelector:\n    matchLabels:\n      app: nothing-here\n  ingress:\n  - fromEndpoints:\n    - {}\n' >"$extra"
apply "$extra"
rm -f "$extra"
expect_eq "stored files after a file with another object" "$((before + 1))" "$(stored)"
newest=$(ls /run/sluice/state/policies/ | sort | tail -1)
grep -q scenario09-extra "/run/sluice/state/policies/$newest" || fail "the newest stored file ($newest) is not the last one applied"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent
expect_eq "GET /get after the second restart" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post after the second restart" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_contains "both objects in force after the restart" "scenario09-extra" "$("$SLUICE" policy get)"
expect_contains "both objects in force after the restart" "backend-http-rules" "$("$SLUICE" policy get)"
