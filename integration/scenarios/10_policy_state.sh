# Policy state never fails open (issue 12). `sluice apply` is one transaction: a file whose
# install fails — here a real full map: the agent's test knob `--map-max-entries` creates
# sluice_policy with room for 256 entries, and the file needs a thousand more — exits non-zero
# with the reason and leaves the policy in force everywhere: requests allowed before are
# allowed, denied ones denied (with flows), `policy get` and the stored files unchanged; the
# next good file installs without the failed one. At a restart, a stored policy file that
# cannot be read stops the agent (exit status 1, the file named): it never runs without it,
# and the pinned maps keep enforcing the last policy meanwhile.
source "$(dirname "$0")/../lib.sh"
KNOB=--agent-arg=--map-max-entries=sluice_policy=256
STORE=/run/sluice/state/policies
AGENT="$ROOT/.build/release/sluice-agent"
"$SLUICE" sandbox up "$TOPO" "$KNOB"

# wait_flows WHAT MIN EXPR: lib.sh's await_flows (polls with a deadline) with the check's name.
wait_flows() {
  local n
  n=$(await_flows "$2" "$3") || fail "$1: fewer than $2 flows"
  echo "ok: $1 ($n flows)"
}
post_dropped='f.get("l7",{}).get("type")=="REQUEST" and f["verdict"]=="DROPPED" and http.get("method")=="POST"'
redis_dropped='f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f["l4"]["TCP"]["destination_port"]==6379 and f["destination"].get("pod_name")=="backend"'
lookup_failed='f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="SOCKET_LOOKUP_FAILED" and f["l4"]["TCP"]["destination_port"]==80'
redis() { nc_send frontend/frontend backend.backend.svc.cluster.local 6379 hi; }
stored_files() { ls "$STORE" | grep '\.json$' | sort | tr '\n' ' '; }

step "the policy in force: GET /get allowed, POST /post denied at L7, backend:6379 denied at L3/L4"
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
expect_eq "GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "backend:6379" "(nc exit 1)" "$(redis)"
listing=$("$SLUICE" policy get)
files=$(stored_files)
[ -n "$files" ] || fail "no stored policy file"

step "an apply whose install fails on a full sluice_policy: non-zero exit, the reason, nothing changes"
wide=$(mktemp --suffix=.yaml)
cat >"$wide" <<'YAML'
# The same object with every request allowed on port 80 and 1000 more ports (6379 among them).
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: backend-http-rules
  namespace: backend
spec:
  endpointSelector:
    matchLabels:
      app: backend
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: frontend
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      rules:
        http:
        - {}
    - ports:
      - port: "6000"
        endPort: 6999
        protocol: TCP
YAML
out=$("$SLUICE" apply -f "$wide" 2>&1) && rc=0 || rc=$?
echo "$out"
expect_eq "exit status of the failed apply" 1 "$rc"
expect_contains "the error" "$wide: not applied, the policy in force is unchanged" "$out"
expect_contains "the reason" "sluice_policy is full: it holds 256 entries and the new policy needs" "$out"
expect_contains "the maps" "the maps were restored to the policy in force" "$out"
posts=$(count_flows "$post_dropped")
redis_drops=$(count_flows "$redis_dropped")
expect_eq "GET /get still allowed" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post still denied (the failed file would allow it)" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
wait_flows "a new DROPPED L7 flow for that POST" "$((posts + 1))" "$post_dropped"
expect_eq "backend:6379 still denied (the failed file would allow it)" "(nc exit 1)" "$(redis)"
wait_flows "a new DROPPED POLICY_DENIED flow for backend:6379" "$((redis_drops + 1))" "$redis_dropped"
expect_eq "policy get" "$listing" "$("$SLUICE" policy get)"
expect_eq "stored files" "$files" "$(stored_files)"
grep -l '6999' "$STORE"/*.json && fail "the failed file was stored"

step "the next apply of a good file works and does not carry the failed one"
next=$(mktemp --suffix=.yaml)
sed 's|          path: "/get"|          path: "/get"\n        - method: "POST"\n          path: "/post"|' \
  "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml" >"$next"
grep -q POST "$next" || fail "the next file has no POST rule"
apply "$next"
expect_eq "POST /post now allowed" 200 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "PUT /put denied" 403 "$(http_code frontend/frontend -X PUT $BACKEND/put)"
redis_drops=$(count_flows "$redis_dropped")
expect_eq "backend:6379 still denied" "(nc exit 1)" "$(redis)"
wait_flows "DROPPED POLICY_DENIED flow for backend:6379" "$((redis_drops + 1))" "$redis_dropped"
grep -l '6999' "$STORE"/*.json && fail "the failed file was stored"
rm -f "$wide" "$next"

step "a stored policy file that cannot be read stops the agent at start"
"$SLUICE" sandbox stop-agent
newest=$(ls "$STORE" | grep '\.json$' | sort | tail -1)
cp "$STORE/$newest" /tmp/sluice-10-good.json
head -c 40 /tmp/sluice-10-good.json >"$STORE/$newest"
out=$("$AGENT" --netns sluice-node --endpoints /run/sluice/sandbox/state.json --state-dir /run/sluice/state \
  --socket /run/sluice/agent.sock --map-max-entries sluice_policy=256 2>&1) && rc=0 || rc=$?
echo "$out"
expect_eq "sluice-agent's exit status" 1 "$rc"
expect_contains "its error names the file" "stored policy $STORE/$newest is not a stored policy" "$out"
expect_contains "and says it does not start" "the agent does not start without the policies it was given" "$out"
out=$("$SLUICE" sandbox start-agent "$KNOB" 2>&1) && rc=0 || rc=$?
echo "$out"
[ "$rc" -ne 0 ] || fail "sluice sandbox start-agent succeeded with a corrupt stored policy"
expect_contains "start-agent shows the agent's error" "stored policy $STORE/$newest is not a stored policy" "$out"
[ -S /run/sluice/agent.sock ] && "$SLUICE" policy get >/dev/null 2>&1 && fail "an agent answers on the control socket"

step "meanwhile the pinned maps enforce the last policy: L7 port fails closed, L3/L4 denies stay"
lookups=$(count_flows "$lookup_failed")
expect_eq "GET /get (L7 port, no proxy)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/frontend $BACKEND/get)"
wait_flows "DROPPED SOCKET_LOOKUP_FAILED flow for port 80" "$((lookups + 1))" "$lookup_failed"
redis_drops=$(count_flows "$redis_dropped")
expect_eq "backend:6379 still denied" "(nc exit 1)" "$(redis)"
wait_flows "DROPPED POLICY_DENIED flow for backend:6379" "$((redis_drops + 1))" "$redis_dropped"

step "with the file repaired, the agent starts with the whole policy"
cp /tmp/sluice-10-good.json "$STORE/$newest"
rm -f /tmp/sluice-10-good.json
"$SLUICE" sandbox start-agent "$KNOB"
expect_eq "GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"
expect_eq "POST /post (the newest file's rule)" 200 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "PUT /put" 403 "$(http_code frontend/frontend -X PUT $BACKEND/put)"
expect_eq "backend:6379" "(nc exit 1)" "$(redis)"
