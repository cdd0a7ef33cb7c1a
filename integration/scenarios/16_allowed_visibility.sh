# Allowed L3/L4 traffic is visible (issue 15): a plain TCP connection, first under no policy, then
# under an L4 allow, shows `to-endpoint` trace flows (`--verdict FORWARDED --type trace`) when it
# opens (SYN, and the SYN-ACK as a reply), when each side closes (FIN), never one per packet; under
# the allow it also shows `policy-verdict:L3-L4 INGRESS ALLOWED` for its first packet, and a
# connection the policy denies shows none. A follower stopped while 6,000 drops wrap the ring prints
# hubble's `EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) N` line when it resumes, then the kept flows.
source "$(dirname "$0")/../lib.sh"
sandbox_up
ip_of() { python3 -c 'import json,sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
db_ip=$(ip_of db)

# connect POD: one TCP connection to db:6379 carrying a line each way (the server echoes it).
connect() { echo "hello from $1" | pod "$1" nc -q1 -w3 "$db_ip" 6379; }

# The TCP flags of trace flows from pod $1 to db:6379 (the reply's flows too), one set per line.
trace_flags() {
  "$SLUICE" observe --all -o json --verdict FORWARDED --type trace --to-port 6379 --from-pod "$1" \
    --to-pod database/db | python3 -c '
import json, sys
for line in sys.stdin:
    f = json.loads(line)["flow"]
    flags = ",".join(k for k, v in f["l4"]["TCP"].get("flags", {}).items() if v)
    print(f.get("trace_observation_point"), f.get("traffic_direction"), f.get("is_reply"), flags)
'
}

step "no policy: a plain TCP connection client -> db:6379 is traced, not per packet"
expect_eq "the echo" "hello from default/client" "$(connect default/client)"
syn='f["l4"]["TCP"].get("flags") == {"SYN": True} and f["source"].get("pod_name") == "client" and f["destination"].get("pod_name") == "db"'
await_flows 1 "$syn" --verdict FORWARDED --type trace >/dev/null
# The reply (db's SYN-ACK) is a flow from db to client marked is_reply.
synack='f["l4"]["TCP"].get("flags") == {"SYN": True, "ACK": True} and f["source"].get("pod_name") == "db" and f.get("is_reply") is True'
await_flows 1 "$synack" --verdict FORWARDED --type trace >/dev/null
fins='f["l4"]["TCP"].get("flags", {}).get("FIN") is True and "client" in (f["source"].get("pod_name"), f["destination"].get("pod_name"))'
await_flows 2 "$fins" --verdict FORWARDED --type trace --port 6379 >/dev/null
all_traces='"client" in (f["source"].get("pod_name"), f["destination"].get("pod_name")) and "db" in (f["source"].get("pod_name"), f["destination"].get("pod_name"))'
n=$(count_flows "$all_traces" --type trace --port 6379)
# SYN, SYN-ACK, FIN each way (and at most an RST): never one per data packet or ACK.
[ "$n" -ge 4 ] && [ "$n" -le 5 ] || fail "expected 4 or 5 trace flows for one connection, got $n: $(trace_flags default/client)"
echo "ok: $n trace flows for the connection"
compact=$("$SLUICE" observe --verdict FORWARDED --type trace --port 6379 --last 10)
echo "$compact"
expect_contains "compact SYN" "default/client:" "$compact"
expect_contains "compact SYN" "-> database/db:6379 (ID:" "$compact"
expect_contains "compact SYN" "to-endpoint FORWARDED (TCP Flags: SYN)" "$compact"
expect_contains "compact SYN-ACK" "<- database/db:6379" "$compact"
expect_contains "compact SYN-ACK" "to-endpoint FORWARDED (TCP Flags: SYN, ACK)" "$compact"
json=$("$SLUICE" observe --all -o json --verdict FORWARDED --type trace --port 6379 | sed -n 1p | tr -d ' ')
expect_contains "JSON" '"event_type":{"type":4}' "$json"
expect_contains "JSON" '"trace_observation_point":"TO_ENDPOINT"' "$json"
expect_contains "JSON" '"Type":"L3_L4"' "$json"
expect_eq "policy verdicts with no policy" 0 "$(count_flows "$all_traces" --type policy-verdict)"

step "a connection busy for 6 s is traced again after 5 s without a flag change (Cilium's report interval)"
pod default/client python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 6379), timeout=3)
end = time.monotonic() + 6.5
while time.monotonic() < end:
    s.sendall(b"tick\n")
    s.recv(64)
    time.sleep(0.5)  # pace of the ticks: traffic, not synchronisation
s.close()
' "$db_ip"
repeat='"client" in (f["source"].get("pod_name"), f["destination"].get("pod_name")) and not any(f["l4"]["TCP"].get("flags", {}).get(k) for k in ("SYN", "FIN", "RST"))'
n=$(await_flows 1 "$repeat" --type trace --port 6379)
echo "ok: $n repeat trace(s) of the busy connection"

step "L4 allow on db: backend may reach TCP 6379, nobody else"
policy=$(mktemp --suffix .yaml)
cat > "$policy" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-from-backend, namespace: database}
spec:
  endpointSelector: {matchLabels: {app: database}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
    toPorts: [{ports: [{port: "6379", protocol: TCP}]}]
YAML
apply "$policy"
rm -f "$policy"
expect_eq "the echo" "hello from backend/backend" "$(connect backend/backend)"
verdict='f["source"].get("pod_name") == "backend" and f["destination"].get("pod_name") == "db" and f["l4"]["TCP"]["destination_port"] == 6379'
await_flows 1 "$verdict" --type policy-verdict >/dev/null
expect_eq "one policy verdict for the connection" 1 "$(count_flows "$verdict" --type policy-verdict)"
pv=$("$SLUICE" observe --type policy-verdict --last 1)
echo "$pv"
expect_contains "compact" "backend/backend:" "$pv"
expect_contains "compact" "-> database/db:6379" "$pv"
expect_contains "compact" "policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)" "$pv"
json=$("$SLUICE" observe --type policy-verdict --last 1 -o json | tr -d ' ')
expect_contains "JSON" '"event_type":{"type":5}' "$json"
expect_contains "JSON" '"policy_match_type":2' "$json"
expect_contains "JSON" '"verdict":"FORWARDED"' "$json"
# The policy whose entry allowed it (the policy map entry's policy_ref), Hubble's ingress_allowed_by.
expect_contains "JSON" '"ingress_allowed_by":[{"name":"db-from-backend","namespace":"database","labels":[' "$json"
await_flows 1 "$verdict and f[\"l4\"][\"TCP\"].get(\"flags\") == {\"SYN\": True}" --verdict FORWARDED --type trace >/dev/null
echo "ok: the allowed connection is traced too"

step "the denied connection has a drop and no policy-verdict ALLOWED"
expect_eq "client -> db (denied: nc times out)" "(nc exit 1)" "$(nc_send default/client "$db_ip" 6379 "hello from default/client")"
denied='f["source"].get("pod_name") == "client" and f["destination"].get("pod_name") == "db" and f["l4"]["TCP"]["destination_port"] == 6379'
await_flows 1 "$denied and f[\"verdict\"] == \"DROPPED\"" --type drop >/dev/null
expect_eq "client -> db policy verdicts ALLOWED" 0 "$(count_flows "$denied and f[\"verdict\"] == \"FORWARDED\"" --type policy-verdict)"

step "a reader stopped while the ring wraps sees EVENTS LOST, then the new flows"
out=$(mktemp)
"$SLUICE" observe -f --to-port 9999 >"$out" 2>&1 &
reader=$!
# flood FROM_POD COUNT: COUNT UDP datagrams to db:9999, which db's policy denies (one drop each).
flood() {
  pod "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(b"x", (sys.argv[1], 9999))
    except OSError:
        pass
' "$db_ip" "$2"
}
# The reader is following once it prints a new flow.
deadline=$((SECONDS + 10))
until grep -q ":9999 .*DROPPED" "$out"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the reader printed no flow: $(cat "$out")"
  flood default/client 1
  sleep 0.2  # poll interval (deadline above)
done
kill -STOP "$reader"
flood default/client 6000
kill -CONT "$reader"
deadline=$((SECONDS + 10))
until grep -q "^EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) [0-9]" "$out"; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no EVENTS LOST line: $(tail -n 3 "$out")"
  sleep 0.1  # poll interval (deadline above)
done
lost_line=$(grep "^EVENTS LOST" "$out" | sed -n 1p)
echo "$lost_line"
lost=${lost_line##* }
[ "$lost" -ge 1000 ] || fail "expected more than 1000 lost events (6000 drops into a 4096-record ring), got $lost"
# Then the flows the ring kept (4096, less what arrived before the reader was stopped).
deadline=$((SECONDS + 20))
while after=$(sed -n '/^EVENTS LOST/,$p' "$out" | grep -c "Policy denied DROPPED"); [ "$after" -lt 1000 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "expected the kept flows after the EVENTS LOST line, got $after"
  sleep 0.2  # poll interval (deadline above)
done
kill "$reader"
wait "$reader" && rc=0 || rc=$?
expect_eq "the follower ends on SIGTERM (128 + 15)" 143 "$rc"
echo "ok: $lost events lost, then $after flows"
rm -f "$out"
