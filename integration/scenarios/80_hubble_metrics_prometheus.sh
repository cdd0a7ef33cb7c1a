# Hubble's metrics scraped by a real Prometheus (issue 17): the sandbox's sluice-observer serves
# /metrics on the node address (10.244.0.1:9965) with the sandbox's set (flow, drop, tcp, policy,
# httpV2, dns); a Prometheus from Debian's package, run in the node namespace with its storage in a
# temp dir and its web listener on the namespace's loopback only, scrapes it every second while N
# requests go through the L7 proxy; its query API returns the series with Hubble's label names and
# exactly N (the counters move by N for N requests); `promtool check metrics` on the scraped text
# reports nothing.
source "$(dirname "$0")/../lib.sh"
command -v prometheus >/dev/null || fail "prometheus is not installed (make deps: Debian package prometheus)"
command -v promtool >/dev/null || fail "promtool is not installed (Debian package prometheus)"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
node_ns=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeNetns"])')
node_ip=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeIP"])')
in_node() { ip netns exec "$node_ns" "$@"; }
metrics_url="http://$node_ip:9965/metrics"

work=$(mktemp -d /tmp/sluice-80.XXXXXX)
prom_pid=""
stop_prometheus() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  cleanup
}
trap stop_prometheus EXIT

step "the observer serves /metrics on the node address; promtool finds nothing to say"
wait_until "the observer's /metrics answers" in_node curl -sf -o /dev/null "$metrics_url"
in_node curl -sf "$metrics_url" >"$work/before.txt"
check=$(promtool check metrics <"$work/before.txt" 2>&1) || fail "promtool check metrics failed: $check"
expect_eq "promtool check metrics (before traffic)" "" "$check"

step "Prometheus (Debian's) scrapes it every second from the node namespace"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: sluice-observer
    static_configs:
      - targets: ["$node_ip:9965"]
YAML
promtool check config "$work/prometheus.yml"
prom_port=19090
# Started with ip netns exec directly (it execs prometheus), so $! is Prometheus's own PID.
ip netns exec "$node_ns" prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prom_pid=$!
api="http://127.0.0.1:$prom_port/api/v1"
WAIT_SECONDS=30 wait_until "Prometheus ready" in_node curl -sf -o /dev/null "http://127.0.0.1:$prom_port/-/ready"

# query EXPR: the value of a PromQL instant query with one result, or "none".
query() {
  in_node curl -sf --data-urlencode "query=$1" "$api/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "none" if not r else "many:%d" % len(r))'
}
# await_value EXPR WANT: polls Prometheus until EXPR is WANT (scrapes are 1 s apart).
await_value() {
  local deadline=$((SECONDS + 30)) got
  while :; do
    got=$(query "$1")
    [ "$got" = "$2" ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      in_node curl -sf "$metrics_url" | grep -E '^(hubble_http_requests|hubble_flows_processed|hubble_policy|sluice_requests)' >&2 || true
      fail "$1: expected $2, Prometheus says $got"
    fi
    sleep 0.5  # the poll's pace; the deadline bounds it
  done
  echo "ok: $1 = $got"
}
await_value 'up{job="sluice-observer"}' 1

# The flow ring may still hold records of an earlier sandbox (the pin outlives it when its shape
# did not change), and the observer counts what it reads: so the checks below are deltas from the
# values before this scenario's traffic (0 when the series does not exist yet).
base() { local v; v=$(query "$1"); [ "$v" = none ] && echo 0 || echo "$v"; }
declare -A before=()
http_get='hubble_http_requests_total{method="GET",protocol="HTTP/1.1",status="200",reporter="server"}'
http_post='hubble_http_requests_total{method="POST",protocol="HTTP/1.1",status="403",reporter="server"}'
dur_count='hubble_http_request_duration_seconds_count{method="GET",reporter="server"}'
dur_inf='hubble_http_request_duration_seconds_bucket{method="GET",reporter="server",le="+Inf"}'
flows_http='sum(hubble_flows_processed_total{protocol="HTTP",type="L7",subtype="HTTP"})'
pol_drop='hubble_policy_verdicts_total{direction="ingress",match="l7/http",action="dropped"}'
pol_fwd='hubble_policy_verdicts_total{direction="ingress",match="l7/http",action="forwarded"}'
req_fwd='sluice_requests_total{verdict="forwarded",direction="ingress",protocol="HTTP/1.1"}'
req_drop='sluice_requests_total{verdict="dropped",direction="ingress",protocol="HTTP/1.1"}'
lat_count='sluice_upstream_latency_seconds_count{protocol="HTTP/1.1"}'
for e in "$http_get" "$http_post" "$dur_count" "$dur_inf" "$flows_http" "$pol_drop" "$pol_fwd" "$req_fwd" "$req_drop" "$lat_count"; do
  before[$e]=$(base "$e")
done
# await_delta EXPR D: EXPR reaches its value before the traffic plus D.
await_delta() { await_value "$1" "$(( ${before[$1]} + $2 ))"; }

step "N allowed and M denied requests through the proxy"
n=25
m=7
for _ in $(seq "$n"); do
  [ "$(http_code frontend/frontend $BACKEND/get)" = 200 ] || fail "GET /get was not 200"
done
for _ in $(seq "$m"); do
  [ "$(http_code frontend/frontend -X POST $BACKEND/post)" = 403 ] || fail "POST /post was not 403"
done
expect_eq "client -> backend:80 (no rule lets default in)" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code default/client $BACKEND/get)"

step "Prometheus has Hubble's series with exactly N and M"
# httpV2: one count per response, labelled as the request (reporter server: the policy is on
# backend's ingress).
await_delta "$http_get" "$n"
await_delta "$http_post" "$m"
await_delta "$dur_count" "$n"
await_delta "$dur_inf" "$n"
await_delta "$flows_http" "$((2 * (n + m)))"
await_delta "$pol_drop" "$m"
await_delta "$pol_fwd" "$((2 * n + m))"
await_delta "$req_fwd" "$n"
await_delta "$req_drop" "$m"
await_delta "$lat_count" "$((n + m))"
await_value 'count(hubble_drop_total{reason="POLICY_DENIED",protocol="TCP"} > 0)' 1
await_value 'count(hubble_tcp_flags_total{flag="SYN",family="IPv4"} > 0)' 1
await_value 'count(sluice_agent_resident_memory_bytes > 1000000)' 1
await_value 'count(sluice_policy_applies_total{result="success"} >= 1)' 1

step "the label names and their order are Hubble's"
in_node curl -sf "$metrics_url" >"$work/after.txt"
python3 - "$work/after.txt" <<'PY'
import re, sys
want = {
    "hubble_http_requests_total": ["method", "protocol", "reporter", "status"],
    "hubble_http_request_duration_seconds_bucket": ["le", "method", "reporter"],
    "hubble_flows_processed_total": ["protocol", "subtype", "type", "verdict"],
    "hubble_drop_total": ["protocol", "reason"],
    "hubble_policy_verdicts_total": ["action", "direction", "match"],
    "hubble_tcp_flags_total": ["family", "flag"],
}
seen = {}
for line in open(sys.argv[1]):
    m = re.match(r'^([a-z_]+)\{(.*)\} ', line)
    if m and m.group(1) in want:
        seen[m.group(1)] = sorted(re.findall(r'([a-z_]+)="', m.group(2)))
for name, labels in want.items():
    assert seen.get(name) == sorted(labels), (name, seen.get(name))
    print("ok:", name, seen[name])
PY
check=$(promtool check metrics <"$work/after.txt" 2>&1) || fail "promtool check metrics failed: $check"
expect_eq "promtool check metrics (after traffic)" "" "$check"
echo "ok: $(grep -c '^hubble_' "$work/after.txt") hubble_* and $(grep -c '^sluice_' "$work/after.txt") sluice_* samples"

step "what the observer costs per request (measured, not asserted: the goal is <= 3 % of get-ka's CPU)"
obs_pid=$(python3 -c 'import json; print([s["pid"] for s in json.load(open("/run/sluice/sandbox/state.json"))["servers"] if s["kind"] == "observer"][0])')
obs_pid=$(pgrep -P "$obs_pid" sluice-observer || echo "$obs_pid")  # ip netns exec may have exec'd it
cpu_ns() { cut -d' ' -f1 "/proc/$obs_pid/schedstat"; }
k=2000
before=$(cpu_ns)
urls=$(for _ in $(seq "$k"); do printf -- '-o /dev/null %s/get ' "$BACKEND"; done)
# shellcheck disable=SC2086
pod frontend/frontend curl -s -w '%{http_code}\n' $urls | sort | uniq -c
await_delta "$http_get" "$((n + k))"
after=$(cpu_ns)
python3 -c 'import sys; b, a, k = map(int, sys.argv[1:]); print("observer CPU: %.2f us per request (decode, history, metrics, map, scrapes; %d requests)" % ((a - b) / 1000 / k, k))' "$before" "$after" "$k"
