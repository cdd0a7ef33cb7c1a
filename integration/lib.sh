# Helpers for integration scenarios. Each scenario: `source "$(dirname "$0")/../lib.sh"`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here/.." && pwd)
SLUICE="${SLUICE:-$ROOT/.build/release/sluice}"
export SLUICE_HOME="$ROOT"
TOPO="$ROOT/proxy-config/sandbox/tutorial.yaml"
BACKEND=http://backend.backend.svc.cluster.local

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

# http_code POD [curl args...]: prints the status code (000 when no answer).
http_code() {
  local t=$1; shift
  pod "$t" curl -s -o /dev/null -m "${CURL_TIMEOUT:-5}" -w '%{http_code}' "$@" || true
}

# flows_json [observe args...]: the flows as JSON lines.
flows_json() { "$SLUICE" observe --all -o json "$@"; }

# count_flows PYTHON-EXPR [observe args]: number of flows (dicts `f`) for which EXPR holds; a
# flow lacking the L3/L4 layer EXPR indexes (f["l4"]["TCP"] on an ICMP drop) does not match. EXPR
# also sees `http` and `l7` (the flow's blocks, {} when absent) and `pol(f, KEY)`, the name of the
# first policy in f[KEY] (`ingress_denied_by`, ...) or "".
count_flows() {
  local expr=$1; shift
  flows_json "$@" | python3 -c '
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

# await_flows MIN PYTHON-EXPR [observe args]: polls (every 0.1 s, at most 10 s) until at least MIN
# flows satisfy EXPR (as count_flows) and prints the last count; fails when the deadline passes.
await_flows() {
  local min=$1 expr=$2 n=0 deadline=$((SECONDS + 10))
  shift 2
  while :; do
    n=$(count_flows "$expr" "$@")
    if [ "$n" -ge "$min" ]; then echo "$n"; return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then fail "after 10 s only $n flow(s) match: $expr"; fi
    sleep 0.1
  done
}
