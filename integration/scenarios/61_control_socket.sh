# The control socket (issue 14, Process): created 0600 in a 0700 directory, both root's; a client
# that is not root is refused, by the file modes and, when it can reach the socket anyway
# (CAP_DAC_OVERRIDE), by its peer credentials; --control-group lets one group in (0660 socket,
# 0710 directory); a client that connects and sends nothing is closed after --control-timeout-ms
# and never holds up `sluice status` meanwhile.
source "$(dirname "$0")/../lib.sh"
SOCK=/run/sluice/agent.sock
CLIENT="$ROOT/integration/servers/control_client.py"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
# The same user with CAP_DAC_OVERRIDE: the file modes no longer stop it, only the credentials.
NOBODY_DAC="$NOBODY --inh-caps=+dac_override --ambient-caps=+dac_override"
proc() { "$SLUICE" status -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['process']['$1'])"; }
proc_is() { [ "$(proc "$1")" = "$2" ]; }

"$SLUICE" sandbox up "$TOPO" --agent-arg=--control-timeout-ms=4000

step "modes: socket 0600 and directory 0700, owned by root"
expect_eq "socket" "600 root root socket" "$(stat -c '%a %U %G %F' $SOCK)"
expect_eq "directory" "700 root root" "$(stat -c '%a %U %G' "$(dirname $SOCK)")"
expect_contains "root is answered" "ok=true" "$(python3 "$CLIENT" $SOCK)"

step "a non-root client is refused"
expect_contains "nobody: the directory mode stops it" "error: Permission denied" "$($NOBODY /usr/bin/python3 "$CLIENT" $SOCK)"
expect_contains "nobody with CAP_DAC_OVERRIDE: refused by its credentials" \
  "ok=false permission denied: uid 65534 (gid 65534) is not root" "$($NOBODY_DAC /usr/bin/python3 "$CLIENT" $SOCK)"
expect_eq "the refusal is counted" 1 "$(proc controlRefused)"

step "an idle client (nc -U, sends nothing) does not hold up sluice status and is timed out"
nc -d -U $SOCK >/dev/null 2>&1 &  # -d: nc reads no input, so it sends nothing
idle=$!
wait_until "the idle client is connected" sh -c "ss -xp | grep -q 'pid=$idle,'"
start=$(date +%s%N)
expect_contains "status answers at once" "Sluice:" "$("$SLUICE" status)"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "sluice status took ${elapsed_ms} ms with an idle client connected"
[ "$elapsed_ms" -lt 3000 ] || fail "sluice status took ${elapsed_ms} ms"
expect_eq "the idle client was still connected meanwhile" 0 "$(ss -xp | grep -q "pid=$idle," && echo 0 || echo 1)"
expect_eq "and not timed out yet" 0 "$(proc controlTimedOut)"
wait_until "the idle client is closed by the agent" proc_is controlTimedOut 1
wait_until "nc saw the agent close it" sh -c "! kill -0 $idle 2>/dev/null"
wait "$idle" || true

step "--control-group: its members get in (0660 socket, 0710 directory), others are still refused"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent --agent-arg=--control-group=nogroup
expect_eq "socket" "660 root nogroup" "$(stat -c '%a %U %G' $SOCK)"
expect_eq "directory" "710 root nogroup" "$(stat -c '%a %U %G' "$(dirname $SOCK)")"
expect_contains "nobody (group nogroup) is answered" "ok=true" "$($NOBODY /usr/bin/python3 "$CLIENT" $SOCK)"
expect_contains "uid 1234 outside the group, with CAP_DAC_OVERRIDE, is refused" \
  "ok=false permission denied: uid 1234 (gid 1234) is not root and not in the control group" \
  "$(setpriv --reuid=1234 --regid=1234 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override /usr/bin/python3 "$CLIENT" $SOCK)"
"$SLUICE" sandbox stop-agent
"$SLUICE" sandbox start-agent
expect_eq "back to root only" "600 root root / 700" "$(stat -c '%a %U %G' $SOCK) / $(stat -c '%a' "$(dirname $SOCK)")"
