# Helpers for integration scenarios. Each scenario: `source "$(dirname "$0")/../lib.sh"`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/.." && pwd)
SLUICE="${SLUICE:-$ROOT/.build/release/sluice}"
export SLUICE_HOME="$ROOT"
TOPO="$ROOT/proxy-config/sandbox/tutorial.yaml"
BACKEND=http://backend.backend.svc.cluster.local

# Cleanup on exit: the sandbox may be half up or already down, and the scenario's own status is
# what counts, so sandbox down's status is deliberately not checked here.
cleanup() { "$SLUICE" sandbox down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { echo "--- $*"; }
fail() { echo "ASSERTION FAILED: $*" >&2; exit 1; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then fail "$1: expected [$2], got [$3]"; fi
  echo "ok: $1 = $3"
}

expect_contains() {
  case "$3" in *"$2"*) echo "ok: $1 contains [$2]" ;; *) fail "$1: [$3] does not contain [$2]" ;; esac
}

sandbox_up() { "$SLUICE" sandbox up "${1:-$TOPO}"; }
apply() { "$SLUICE" apply -f "$1"; }
pod() { local t=$1; shift; "$SLUICE" sandbox exec "$t" -- "$@"; }

# http_code POD [curl args...]: prints the HTTP status code; when curl gets no answer it prints
# "000 (curl exit N)" with curl's exit status, so a check that expects no answer names the reason:
# 28 (timed out: a dropped SYN, or a name lookup whose DNS is dropped, so check drops by address),
# 7 (refused), 52 (closed without a reply); a name that does not exist (6) or a missing tool (127
# from `sandbox exec`) never reads as a drop.
http_code() {
  local t=$1 code rc
  shift
  code=$(pod "$t" curl -s -o /dev/null -m "${CURL_TIMEOUT:-5}" -w '%{http_code}' "$@") && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then echo "$code"; else echo "${code:-000} (curl exit $rc)"; fi
}

# nc_z POD HOST PORT: `succeeded`, or `failed` when the connect timed out (a dropped SYN); any
# other outcome (refused, a name error, a missing pod or tool) prints nc's words and exit status,
# so it never reads as a drop. netcat-openbsd prints to stderr.
nc_z() {
  local out rc
  out=$(pod "$1" nc -vz -w "${NC_TIMEOUT:-3}" "$2" "$3" 2>&1) && rc=0 || rc=$?
  case "$rc:$out" in
    0:*succeeded*) echo succeeded ;;
    1:*"timed out"*) echo failed ;;
    *) echo "nc exit $rc: $out" ;;
  esac
}

# nc_send POD HOST PORT PAYLOAD: sends PAYLOAD with nc and prints the reply; when nc fails it
# prints "(nc exit N)" after any output, so a dropped connection reads "(nc exit 1)" (the
# connect timed out), never an empty answer that a wrong pod name would give too.
nc_send() {
  local out rc
  out=$(echo "$4" | pod "$1" nc -q1 -w"${NC_TIMEOUT:-2}" "$2" "$3") && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then echo "$out"; else echo "$out(nc exit $rc)"; fi
}

# dig_short POD DIG-ARGS...: the first line of `dig +short` (its answer); when no server answers
# (dig's exit 9) the line ";; connection timed out; no servers could be reached". Any other
# failure of dig prints "dig exit N" with its output.
dig_short() {
  local out rc
  out=$(pod "$1" dig +short +time=2 +tries=1 "${@:2}" 2>&1) && rc=0 || rc=$?
  case "$rc" in
    0 | 9) printf '%s\n' "$out" | head -n 1 ;;
    *) echo "dig exit $rc: $out" ;;
  esac
}

# expect_status WHAT STATUS CMD...: runs CMD, prints its stdout, and fails the scenario unless it
# exits with STATUS (an expected failure is asserted, never ignored: `expect_status "nc to a
# dropped port" 1 pod ... nc ...`).
expect_status() {
  local what=$1 want=$2 out rc
  shift 2
  out=$("$@") && rc=0 || rc=$?
  [ "$rc" = "$want" ] || fail "$what: exit status $rc, expected $want (output: [$out])"
  echo "ok: $what exits $rc" >&2
  printf '%s' "$out"
}

# grep_count PATTERN FILE...: grep -c, where no match is the answer 0 (grep's status 1) but an
# unreadable file or a bad pattern (status 2) fails the scenario.
grep_count() {
  local n rc
  n=$(grep -c "$@") && rc=0 || rc=$?
  [ "$rc" -le 1 ] || fail "grep -c $* failed with status $rc"
  echo "$n"
}

# wait_until WHAT CMD...: runs CMD every 0.1 s until it succeeds; fails the scenario when
# WAIT_SECONDS (default 10) pass first. The 0.1 s is the poll's pace; the deadline bounds it.
wait_until() {
  local what=$1 deadline=$((SECONDS + ${WAIT_SECONDS:-10}))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: still not true after ${WAIT_SECONDS:-10} s"
    sleep 0.1
  done
}

# observe_lines [observe args...]: how many lines `sluice observe` prints; fails when observe
# fails, so a broken observe never reads as "0 flows".
observe_lines() {
  local out
  out=$("$SLUICE" observe "$@") || fail "sluice observe $* failed"
  grep_count . <<<"$out"
}

# flows_json [observe args...]: the flows as JSON lines.
flows_json() { "$SLUICE" observe --all -o json "$@"; }

# count_flows PYTHON-EXPR [observe args]: number of flows (dicts `f`) for which EXPR holds; a
# flow lacking the L3/L4 layer EXPR indexes (f["l4"]["TCP"] on an ICMP drop) does not match. EXPR
# also sees `http` and `l7` (the flow's blocks, {} when absent) and `pol(f, KEY)`, the name of the
# first policy in f[KEY] (`ingress_denied_by`, ...) or "".
count_flows() {
  local expr=$1 json
  shift
  # observe's status is checked before counting: a broken observe must not read as "0 flows".
  json=$(flows_json "$@") || fail "sluice observe $* failed (status $?)"
  printf '%s\n' "$json" | python3 -c '
import json, sys
expr = sys.argv[1]
n = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    f = json.loads(line)["flow"]
    l7 = f.get("l7", {})
    http = l7.get("http", {})
    pol = lambda f, key: (f.get(key) or [{}])[0].get("name", "")
    try:
        hit = eval(expr, {"f": f, "http": http, "l7": l7, "pol": pol})
    except KeyError as missing:
        # A flow without the layer or field the expression reads (an ICMP or IPv6 drop has no
        # "TCP", a trace flow no "l7"; an HTTP flow whose record has no method, such as a response, has no "method")
        # does not match; any other missing key is a mistake in the expression.
        if missing.args[0] not in ("l4", "IP", "l7", "TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6",
                                   "method", "url", "code", "protocol", "dns", "query"):
            raise
        hit = False
    if hit:
        n += 1
print(n)
' "$expr"
}

# The agent PID recorded by `sluice sandbox up`.
agent_pid() { python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["agentPID"])'; }

# running PID: true while PID exists and has not exited (a zombie waiting for PID 1 to reap it
# has exited: its sockets are closed).
running() {
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# await_flows MIN PYTHON-EXPR [observe args]: polls (every 0.1 s, at most WAIT_SECONDS, default
# 10) until at least MIN flows satisfy EXPR (as count_flows) and prints the last count; fails when
# the deadline passes.
await_flows() {
  local min=$1 expr=$2 n=0 deadline=$((SECONDS + ${WAIT_SECONDS:-10}))
  shift 2
  while :; do
    n=$(count_flows "$expr" "$@") || exit 1
    if [ "$n" -ge "$min" ]; then echo "$n"; return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then fail "after ${WAIT_SECONDS:-10} s only $n flow(s) match: $expr"; fi
    sleep 0.1
  done
}

# expect_flows WHAT N PYTHON-EXPR [observe args]: exactly N flows satisfy EXPR. Waits (as
# await_flows) until N are there, then counts once more, so one too many also fails. N must be
# at least 1: an absence is checked with expect_absent, which needs evidence.
expect_flows() {
  local what=$1 want=$2 expr=$3
  shift 3
  [ "$want" -ge 1 ] || fail "expect_flows $what: N=$want; check absence with expect_absent"
  await_flows "$want" "$expr" "$@" >/dev/null
  expect_eq "$what" "$want" "$(count_flows "$expr" "$@")"
}

# expect_absent WHAT ZERO-EXPR CONTROL-EXPR [observe args]: the negative check with evidence.
# No flow may satisfy ZERO-EXPR, and the check only counts once a flow satisfying CONTROL-EXPR is
# there: CONTROL-EXPR names a flow written by the same event or after it (the DROPPED flow of the
# denial, the allowed request sent last), which proves the flow log had caught up and that the
# same query would have seen a matching flow. Fails when the control never appears.
expect_absent() {
  local what=$1 zero=$2 control=$3 n
  shift 3
  n=$(await_flows 1 "$control" "$@") || exit 1
  echo "ok: control for [$what]: $n flow(s) match $control"
  expect_eq "$what" 0 "$(count_flows "$zero" "$@")"
}

# expect_denied WHAT STATUS CLIENT-OUTPUT FLOW-EXPR CMD...: a denial backed by evidence of its
# reason. CMD (the client) must exit with STATUS and print CLIENT-OUTPUT (a substring; "" to
# skip), and a flow satisfying FLOW-EXPR (the DROPPED flow with its reason) must appear.
# Pair it with expect_unseen when the server keeps a log.
expect_denied() {
  local what=$1 status=$2 output=$3 expr=$4 out n
  shift 4
  out=$(expect_status "$what" "$status" "$@") || exit 1
  case "$out" in *"$output"*) ;; *) fail "$what: client output [$out] does not contain [$output]" ;; esac
  n=$(await_flows 1 "$expr") || exit 1
  echo "ok: $what denied: client exit $status${output:+ with [$output]}, $n flow(s) match $expr"
}

# expect_unseen WHAT LOG PATTERN CONTROL-PATTERN: the server's LOG has no line matching PATTERN,
# and it has one matching CONTROL-PATTERN (a request the scenario let through), which proves the
# log is the right file and records requests.
expect_unseen() {
  local what=$1 log=$2 pattern=$3 control=$4 n
  [ -r "$log" ] || fail "$what: no server log $log"
  n=$(grep_count -- "$control" "$log") || exit 1
  [ "$n" -ge 1 ] || fail "$what: control [$control] is not in $log: the log records nothing to check against"
  expect_eq "$what (lines matching [$pattern] in $(basename "$log"))" 0 "$(grep_count -- "$pattern" "$log")"
}

# frontend_backend_topology FILE [SERVERS]: writes the two-pod topology of the HTTP/2 and HTTP/1
# edge scenarios to FILE: frontend/frontend and backend/backend (namespaces labelled name=...),
# the backend pod running SERVERS (a YAML flow list such as ["h2c:8080"]) when given.
frontend_backend_topology() {
  cat >"$1" <<YAML
namespaces:
  - name: frontend
    labels: {name: frontend}
  - name: backend
    labels: {name: backend}
pods:
  - name: frontend
    namespace: frontend
    labels: {app: frontend}
  - name: backend
    namespace: backend
    labels: {app: backend}
YAML
  if [ -n "${2:-}" ]; then echo "    servers: $2" >>"$1"; fi
}

# backend_ingress_cnp FILE NAME: writes to FILE a CNP NAME on app=backend (namespace backend)
# letting the frontend namespace in on the toPorts entries read from stdin (YAML `- ports:` items
# indented by four spaces).
backend_ingress_cnp() {
  {
    cat <<YAML
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: $2
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
YAML
    cat
  } >"$1"
}
