# `sluice observe` as `hubble observe` v1.19 (issue 15) and the cilium-dbg-style introspection
# commands, on the tutorial sandbox: version, status and endpoint list before and after policies;
# then L7 and drop flows through --since 1m, -o table, -A, -l app=frontend, observe flows, and the
# same filters offline on an exported file (--input-file -), with the same uuids.
source "$(dirname "$0")/../lib.sh"

# wait_for DESCRIPTION SECONDS COMMAND...: lib.sh's wait_until with a deadline of SECONDS.
wait_for() { WAIT_SECONDS=$2 wait_until "$1" "${@:3}"; }

# jq-like checks over JSON lines on stdin: py_lines 'EXPR over f' prints how many lines satisfy it
# and how many lines there are ("matching total").
py_lines() {
  python3 -c '
import json, sys
expr = sys.argv[1]
n = total = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    f = json.loads(line)["flow"]
    total += 1
    if eval(expr, {"f": f, "now": float(sys.argv[2])}):
        n += 1
print(n, total)
' "$1" "$(date +%s.%N)"
}

start_time=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sandbox_up
version=$(cat "$ROOT/Sources/Flows/SluiceVersion.swift" | sed -n 's/.*current = "\(.*\)".*/\1/p')
[ -n "$version" ] || fail "cannot read the version from SluiceVersion.swift"

step "sluice version and --version"
expect_eq "sluice --version" "$version" "$("$SLUICE" --version)"
v=$("$SLUICE" version)
echo "$v"
expect_contains "client version" "Client: $version" "$v"
expect_contains "agent version" "Agent:  $version" "$v"

step "sluice status (no policy)"
st=$("$SLUICE" status)
echo "$st"
expect_contains "agent up" "Sluice:           Ok   $version (agent up " "$st"
n_endpoints=$(python3 -c 'import json; print(len(json.load(open("/run/sluice/sandbox/state.json"))["endpoints"]))')
echo "$st" | grep -Eq "^Datapath: +Attached \([1-9][0-9]*/$n_endpoints endpoints\)$" || fail "datapath line"
expect_contains "endpoints" "Endpoints:        $n_endpoints (policy enforced: ingress 0, egress 0)" "$st"
expect_contains "policies" "Policies:         0" "$st"
expect_contains "dns proxy" "DNS proxy:        listening on " "$st"
expect_contains "flows" "Flows:            Ok   Current/Max Flows: " "$st"

step "sluice endpoint list (no policy: enforcement disabled everywhere)"
read -r backend_id backend_ip <<<"$(python3 -c 'import json; e=[e for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == "backend"][0]; print(e["id"], e["ipv4"])')"
el=$("$SLUICE" endpoint list)
echo "$el"
expect_contains "header" "ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   LABELS (source:key[=value])" "$el"
echo "$el" | grep -Eq "^$backend_id +Disabled +Disabled +[0-9]+ +k8s:app=backend +$backend_ip +ready$" \
  || fail "backend row: ID, no enforcement, identity, first label, IPv4, ready"
expect_contains "backend labels" "k8s:app=backend" "$el"
il=$("$SLUICE" identity list)
expect_contains "identity list" "reserved:world" "$il"
expect_contains "identity list" "k8s:app=backend" "$il"

step "policies: default deny on backend, frontend allowed with L7 rules"
TUT="$ROOT/proxy-config/examples/tutorial"
apply "$TUT/default-deny-ingress.yaml"
apply "$TUT/allow-from-frontend.yaml"
apply "$TUT/backend-http-rules.yaml"
st=$("$SLUICE" status)
echo "$st"
expect_contains "policies counted" "Policies:         3" "$st"
expect_contains "last apply" "Last apply:       last install: compile " "$st"
"$SLUICE" endpoint list | grep -Eq "^$backend_id +Enabled +Disabled +[0-9]+ +k8s:app=backend +$backend_ip +ready$" \
  || fail "backend row: ingress enforcement Enabled"

step "traffic: frontend GET (L7 flows), client GET (dropped)"
expect_eq "frontend -> backend /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "client -> backend /get" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code default/client $BACKEND/get)"
has_frontend_request() { [ "$("$SLUICE" observe --since 1m -o json --from-pod frontend/frontend --http-method GET | py_lines 'True' | cut -d' ' -f1)" -ge 1 ]; }
wait_for "an http-request flow from frontend within the last minute" 10 has_frontend_request
has_client_drop() { [ "$("$SLUICE" observe --since 1m -o json --from-pod default/client --verdict DROPPED | py_lines 'True' | cut -d' ' -f1)" -ge 1 ]; }
wait_for "a DROPPED flow from client within the last minute" 10 has_client_drop

step "--since 1m / --until"
read -r recent total <<<"$("$SLUICE" observe --since 1m -o json | py_lines 'now - 61 <= __import__("calendar").timegm(__import__("time").strptime(f["time"][:19], "%Y-%m-%dT%H:%M:%S")) <= now + 1')"
echo "--since 1m: $recent of $total flows within the last minute"
[ "$total" -ge 2 ] && [ "$recent" = "$total" ] || fail "--since 1m printed flows older than a minute ($recent of $total recent)"
# uuids of this run's frontend requests: all printed with --until a minute ahead (RFC 3339), none
# with --until the scenario's start (older flows of earlier runs may be there, ours must not).
uuids() { python3 -c 'import json,sys; print("\n".join(json.loads(l)["flow"]["uuid"] for l in sys.stdin if l.strip()))' | LC_ALL=C sort; }
ours=$("$SLUICE" observe --since 1m -o json --from-pod frontend/frontend --http-method GET | uuids)
[ -n "$ours" ] || fail "no uuids"
ahead=$("$SLUICE" observe --until "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)" --all -o json --from-pod frontend/frontend --http-method GET | uuids)
expect_eq "this run's requests missing with --until a minute ahead" 0 "$(LC_ALL=C comm -23 <(echo "$ours") <(echo "$ahead") | wc -l)"
before=$("$SLUICE" observe --until "$start_time" --all -o json --from-pod frontend/frontend --http-method GET | uuids)
expect_eq "this run's requests printed with --until the start" 0 "$(LC_ALL=C comm -12 <(echo "$ours") <(echo "$before" | sed '/^$/d') | wc -l)"

step "-o json: uuid and emitter on every flow"
read -r with_uuid total <<<"$("$SLUICE" observe --since 1m -o json | py_lines 'len(f.get("uuid","")) == 36 and f.get("emitter",{}).get("name") == "Sluice"')"
[ "$total" -ge 2 ] && [ "$with_uuid" = "$total" ] || fail "uuid/emitter missing ($with_uuid of $total)"
echo "ok: $with_uuid flows with uuid and emitter"

step "-o table"
table=$("$SLUICE" observe --since 1m -o table --from-pod frontend/frontend --http-method GET)
echo "$table"
echo "$table" | head -n 1 | grep -Eq '^TIMESTAMP +SOURCE +DESTINATION +TYPE +VERDICT +SUMMARY$' || fail "table header"
echo "$table" | grep -Eq '^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:.]{12} +frontend/frontend:[0-9]+ +backend/backend:80 +http-request +FORWARDED +HTTP/1.1 GET http://backend.backend.svc.cluster.local/get$' \
  || fail "table row for the frontend request"
tab=$("$SLUICE" observe flows --since 1m -o tab --from-pod frontend/frontend --http-method GET)
expect_eq "-o tab and 'observe flows' are the same table" "$table" "$tab"

step "-A / --from-all-namespaces"
read -r with_pod total <<<"$("$SLUICE" observe --since 1m -o json --from-all-namespaces | py_lines 'f.get("source",{}).get("pod_name","") != ""')"
[ "$total" -ge 2 ] && [ "$with_pod" = "$total" ] || fail "--from-all-namespaces printed a flow without a source pod ($with_pod of $total)"
read -r a_total _ <<<"$("$SLUICE" observe --since 1m -o json -A | py_lines 'True')"
[ "$a_total" -ge "$total" ] || fail "-A printed fewer flows ($a_total) than --from-all-namespaces ($total)"
echo "ok: -A $a_total flows, --from-all-namespaces $total flows, all with a source pod"

step "-l app=frontend"
read -r fe total <<<"$("$SLUICE" observe --since 1m -o json -l app=frontend | py_lines '"k8s:app=frontend" in f.get("source",{}).get("labels",[]) + f.get("destination",{}).get("labels",[])')"
[ "$total" -ge 1 ] && [ "$fe" = "$total" ] || fail "-l app=frontend printed other flows ($fe of $total)"
read -r client_in_l _ <<<"$("$SLUICE" observe --since 1m -o json -l app=frontend --from-pod default/client | py_lines 'True')"
expect_eq "-l app=frontend leaves out the client's drops (shown above without -l)" 0 "$client_in_l"

step "--input-file - on an exported file: same filters, same flows, same uuids"
live=$("$SLUICE" observe --all -o json --from-pod frontend/frontend)
export_file=$(mktemp --suffix .json)
"$SLUICE" observe --all -o json > "$export_file"
offline=$("$SLUICE" observe --input-file - --all -o json --from-pod frontend/frontend < "$export_file")
[ -n "$live" ] || fail "no live frontend flows"
# Each reader converts monotonic to wall time itself (microseconds apart), so compare without times.
same=$(python3 -c '
import json, sys
def load(text):
    out = {}
    for line in text.splitlines():
        if line.strip():
            r = json.loads(line); f = r["flow"]; f.pop("time"); r.pop("time")
            out[f["uuid"]] = r
    return out
live, offline = load(sys.argv[1]), load(sys.argv[2])
print(sum(1 for u, r in live.items() if offline.get(u) == r), len(live))
' "$live" "$offline")
read -r equal n_live <<<"$same"
[ "$n_live" -ge 1 ] && [ "$equal" = "$n_live" ] || fail "offline result differs from the live one ($equal of $n_live equal by uuid)"
read -r fe total <<<"$(echo "$offline" | py_lines 'f["source"].get("pod_name") == "frontend"')"
[ "$fe" = "$total" ] || fail "offline filter let other flows through ($fe of $total)"
offline_table=$("$SLUICE" observe --input-file "$export_file" --since 1m -o table --from-pod frontend/frontend)
expect_contains "offline table has the frontend request" "http-request" "$offline_table"
rm -f "$export_file"
echo "ok: $(echo "$live" | wc -l) live frontend flows found offline with the same JSON (uuid included)"

step "errors as in hubble"
# Usage errors exit 64 (EX_USAGE: ArgumentParser's status for a validation error).
out=$(expect_status "observe -o foo" 64 bash -c '"$0" observe -o foo 2>&1' "$SLUICE")
expect_contains "unknown -o" "invalid output format: foo" "$out"
out=$(expect_status "observe --port 80 --not" 64 bash -c '"$0" observe --port 80 --not 2>&1' "$SLUICE")
expect_contains "trailing --not" "trailing --not" "$out"
expect_status "observe -o table --follow refused" 64 "$SLUICE" observe -o table --follow >/dev/null

step "sluice bpf ct list: the tracked connections of this run"
ct=$("$SLUICE" bpf ct list)
echo "$ct" | head -n 5
echo "$ct" | grep -Eq "^TCP [0-9.]+:[0-9]+ -> $backend_ip:80 age=[0-9]+s flags=[a-z,-]+$" || fail "no connection to backend:80 in bpf ct list"
bad=$(grep_count -Ev "^(TCP|UDP|[0-9]+) [0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+ age=[0-9]+s flags=[a-z,-]+$" <<<"$ct")
expect_eq "malformed bpf ct list lines" 0 "$bad"
echo "ok: a connection to backend:80 is tracked ($(echo "$ct" | wc -l) entries)"

step "sluice flows pause / resume: a running agent's recording off and on again"
frontend_gets() { "$SLUICE" observe --all -o json --from-pod frontend/frontend --http-method GET | py_lines 'True' | cut -d' ' -f1; }
before=$(frontend_gets)
expect_eq "pause answer" "flow recording paused" "$("$SLUICE" flows pause)"
expect_contains "status while paused" "Flows:            Paused   Current/Max Flows: " "$("$SLUICE" status)"
expect_eq "frontend -> backend /get while paused" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "frontend -> backend /get while paused, again" 200 "$(http_code frontend/frontend $BACKEND/get)"
# Pausing the records changes no verdict: the client the policy denies is still dropped, and that
# drop is still recorded. (frontend's other paths are allowed here: allow-from-frontend's rule has
# no L7 part, and an L4-only allow on the port wins over the L7 rules, as in Cilium.)
client_drops() { "$SLUICE" observe --all -o json --from-pod default/client --verdict DROPPED | py_lines 'True' | cut -d' ' -f1; }
drops_before=$(client_drops)
expect_eq "client -> backend while paused: still dropped" "000 (curl exit 28)" \
  "$(CURL_TIMEOUT=2 http_code default/client $BACKEND/get)"
dropped_while_paused() { [ "$(client_drops)" -gt "$drops_before" ]; }
wait_for "the client's drop recorded while paused" 10 dropped_while_paused
sleep 1
expect_eq "no flow recorded while paused" "$before" "$(frontend_gets)"
expect_eq "resume answer" "flow recording resumed" "$("$SLUICE" flows resume)"
expect_contains "status after resume" "Flows:            Ok   Current/Max Flows: " "$("$SLUICE" status)"
expect_eq "frontend -> backend /get after resume" 200 "$(http_code frontend/frontend $BACKEND/get)"
recorded_again() { [ "$(frontend_gets)" -gt "$before" ]; }
wait_for "the request after resume recorded" 10 recorded_again
echo "ok: $before frontend GET flows before the pause, none added while paused, $(frontend_gets) after resume"
