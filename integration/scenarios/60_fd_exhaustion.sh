# Descriptors and connections (issue 14, Process): the agent raises its soft open-file limit to
# the hard one at start; at the connection cap (--max-connections) and when accept fails with
# EMFILE, the listener leaves epoll and the connections wait in the kernel's queue; meanwhile the
# control socket keeps answering, the agent keeps running, and once connections close the waiting
# ones are served. The pauses are counted in `sluice status`.
source "$(dirname "$0")/../lib.sh"
HOLD="$ROOT/integration/servers/hold_connections.py"
HOST=backend.backend.svc.cluster.local
work=$(mktemp -d)
holder=
# A failed step must not leave the connection holder behind (it would keep the sandbox lock).
stop_holder() {
    [ -n "$holder" ] || return 0
    kill $(ps -o pid= --ppid "$holder") "$holder" 2>/dev/null
}
trap 'stop_holder; cleanup; rm -rf "$work"' EXIT

# One field of `sluice status -o json`'s process section.
proc() { "$SLUICE" status -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['process']['$1'])"; }
# proc_is FIELD VALUE: for wait_until.
proc_is() { [ "$(proc "$1")" = "$2" ]; }

"$SLUICE" sandbox up "$TOPO" --workers 1 --agent-arg=--max-connections=8
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
pid=$(agent_pid)

step "the soft open-file limit is raised to the hard one at start"
soft=$(awk '/Max open files/ {print $4}' /proc/$pid/limits)
hard=$(awk '/Max open files/ {print $5}' /proc/$pid/limits)
expect_eq "soft limit = hard limit" "$hard" "$soft"
expect_eq "status: the limit" "$hard" "$(proc openFileLimit)"
expect_eq "status: the cap given" 8 "$(proc connectionCap)"

step "at the cap (8): 16 keep-alive connections, 8 answered, 8 wait in the accept queue"
pod frontend/frontend python3 "$HOLD" $HOST 80 /get 16 2 "$work/release-a" >"$work/a.txt" &
holder=$!
wait_until "the first answers" grep -q '^answered' "$work/a.txt"
expect_eq "answered while at the cap" "answered 8" "$(head -1 "$work/a.txt")"
expect_eq "open connections" 8 "$(proc openConnections)"
[ "$(proc capPauses)" -ge 1 ] || fail "no pause at the cap counted"
expect_eq "the listener is paused" 1 "$(proc pausedListeners)"
"$SLUICE" status | tee "$work/status-a.txt" | grep -E '^(Connections|Open files|Control socket):'
expect_contains "sluice status answers at the cap" "accept paused" "$(cat "$work/status-a.txt")"
touch "$work/release-a"
wait $holder
cat "$work/a.txt"
expect_eq "the 8 that waited are served once the first 8 close" "after 8" "$(sed -n 2p "$work/a.txt")"
expect_eq "every answer 200" "codes 200:16" "$(sed -n 3p "$work/a.txt")"
wait_until "the listener is back" proc_is pausedListeners 0
holder=
# The descriptors counted next must be what the agent holds at rest: the first 16 connections
# closed (counted while some were still closing, the limit would leave more room than 6).
wait_until "every connection closed" proc_is openConnections 0

step "EMFILE: the agent's soft limit lowered to what it holds + 6 while 16 connections come in"
# RLIMIT_NOFILE bounds descriptor numbers, not their count: the agent keeps idle splice pipes
# above descriptors that closed, so the limit is set just above the sixth free number (a limit
# of "open + 6" would also leave every hole below the highest descriptor free).
limit=$(ls /proc/$pid/fd | python3 -c '
import sys
used = {int(x) for x in sys.stdin.read().split()}
free, n = 0, 0
while free < 6:
    if n not in used:
        free += 1
    n += 1
print(n)')
prlimit --pid "$pid" --nofile="$limit":"$hard"
pod frontend/frontend python3 "$HOLD" $HOST 80 /get 16 2 "$work/release-b" >"$work/b.txt" &
holder=$!
wait_until "the first answers" grep -q '^answered' "$work/b.txt"
cat "$work/b.txt"
[ "$(proc fileLimitPauses)" -ge 1 ] || fail "no pause on EMFILE counted"
"$SLUICE" status | tee "$work/status-b.txt" | grep -E '^(Sluice|Connections|Open files|Control socket):'
expect_contains "sluice status answers while the descriptors are exhausted" "on EMFILE/ENFILE" "$(cat "$work/status-b.txt")"
expect_eq "agent still running" 0 "$(kill -0 "$pid" && echo 0 || echo 1)"
touch "$work/release-b"
wait $holder
holder=
cat "$work/b.txt"
wait_until "every connection closed" proc_is openConnections 0
wait_until "the listener is back" proc_is pausedListeners 0
prlimit --pid "$pid" --nofile="$hard":"$hard"
expect_eq "agent never restarted" "$pid" "$(agent_pid)"
expect_eq "GET /get after the limit is back" 200 "$(http_code frontend/frontend $BACKEND/get)"
