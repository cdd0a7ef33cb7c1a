# The service-map page (issue 17): sluice-observer serves it on the node address (10.244.0.1:12000).
# Headless Chromium (Debian's), run in the node namespace, loads it while traffic runs: the DOM it
# ends with shows the scenario's pods as nodes grouped by namespace, a dropped edge (client ->
# backend, no rule lets default in), an L7-denied edge (frontend -> backend, POST /post 403) with
# its methods, paths and status counts; served for a namespace that does not exist, the page starts
# empty and the DOM's nodes and edges come from its polls of /api/servicemap (live updates). A
# screenshot is kept under
# integration/artifacts/81_service_map_page/ (gitignored).
source "$(dirname "$0")/../lib.sh"
browser=$(command -v chromium || true)
[ -n "$browser" ] || fail "chromium is not installed (make deps: Debian package chromium)"
sandbox_up
apply "$ROOT/proxy-config/examples/tutorial/backend-http-rules.yaml"
node_ns=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeNetns"])')
node_ip=$(python3 -c 'import json; print(json.load(open("/run/sluice/sandbox/state.json"))["nodeIP"])')
in_node() { ip netns exec "$node_ns" "$@"; }
page="http://$node_ip:12000/"
artifacts="$ROOT/integration/artifacts/81_service_map_page"
mkdir -p "$artifacts"
work=$(mktemp -d /tmp/sluice-81.XXXXXX)
traffic_pid=""
finish() {
  if [ -n "$traffic_pid" ]; then kill "$traffic_pid" 2>/dev/null || true; wait "$traffic_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  cleanup
}
trap finish EXIT

step "the page and its JSON are served on the node address"
wait_until "the page answers" in_node curl -sf -o /dev/null "$page"
head=$(in_node curl -s -D - -o "$work/page.html" "$page" | tr -d '\r')
expect_contains "page head" "HTTP/1.1 200 OK" "$head"
expect_contains "page head" "Content-Type: text/html; charset=utf-8" "$head"
grep -q 'src="http' "$work/page.html" && fail "the page loads something from outside"
expect_eq "nothing from a CDN (no src= or href= to other hosts)" 0 "$(grep -Ec '(src|href)="(https?:)?//' "$work/page.html" || true)"

step "traffic: allowed and denied requests, and a dropped connection"
for _ in 1 2 3; do expect_eq "GET /get" 200 "$(http_code frontend/frontend $BACKEND/get)"; done
expect_eq "POST /post" 403 "$(http_code frontend/frontend -X POST $BACKEND/post)"
expect_eq "client -> backend" "000 (curl exit 28)" "$(CURL_TIMEOUT=2 http_code default/client $BACKEND/get)"
json_has_edges() {
  in_node curl -sf "http://$node_ip:12000/api/servicemap" | python3 -c '
import json, sys
s = json.load(sys.stdin)
e = {(x["source"], x["destination"]): x for x in s["edges"]}
ok = e.get(("default/client", "backend/backend"), {}).get("verdict") == "dropped" and \
     e.get(("frontend/frontend", "backend/backend"), {}).get("verdict") == "l7-denied"
sys.exit(0 if ok else 1)'
}
WAIT_SECONDS=15 wait_until "the JSON has the dropped and the L7-denied edges" json_has_edges
in_node curl -sf "http://$node_ip:12000/api/servicemap?namespace=database" >"$work/db.json"
expect_eq "namespace filter: no edge touches database" 0 \
  "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["edges"]))' "$work/db.json")"

step "headless Chromium loads the page while requests keep coming"
# Background traffic for the page's polls to pick up (0.3 s apart: the pace of the traffic).
(for _ in $(seq 40); do pod frontend/frontend curl -s -o /dev/null -m 2 $BACKEND/anything/live || true; sleep 0.3; done) &
traffic_pid=$!
chrome() {
  in_node "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/profile" --window-size=1400,900 "$@"
}
# Served for a namespace that does not exist, the page starts with an empty map (no nodes, no
# edges) and shows "all" in its filter; everything the DOM ends with came from its polls of
# /api/servicemap: the live update, without racing the traffic.
chrome --virtual-time-budget=6000 --dump-dom "${page}?namespace=none-such" >"$work/dom.html" 2>"$work/chromium.log" \
  || { tail -20 "$work/chromium.log"; fail "chromium --dump-dom failed"; }
chrome --virtual-time-budget=3000 --screenshot="$artifacts/service-map.png" "$page" >>"$work/chromium.log" 2>&1 \
  || { tail -20 "$work/chromium.log"; fail "chromium --screenshot failed"; }
cp "$work/dom.html" "$artifacts/dom.html"
[ -s "$artifacts/service-map.png" ] || fail "no screenshot"
echo "ok: screenshot $(stat -c %s "$artifacts/service-map.png") bytes at $artifacts/service-map.png"

step "the DOM shows the pods, the edges by verdict and the details"
in_node curl -sf "http://$node_ip:12000/api/servicemap" >"$work/all.json"
python3 - "$work/dom.html" "$work/all.json" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1]).read()
def attrs(tag):
    return {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag)}
nodes = [attrs(t) for t in re.findall(r'<g [^>]*class="node"[^>]*>', dom)]
ids = {n["data-id"]: n["data-namespace"] for n in nodes}
for pod, ns in [("frontend/frontend", "frontend"), ("backend/backend", "backend"), ("default/client", "default")]:
    assert ids.get(pod) == ns, (pod, sorted(ids))
    print("ok: node", pod, "in namespace", ns)
groups = set(re.findall(r'<g [^>]*class="namespace"[^>]*data-namespace="([^"]+)"', dom))
assert {"frontend", "backend", "default"} <= groups, groups
print("ok: namespace groups", sorted(groups))
edges = [attrs(t) for t in re.findall(r'<path [^>]*class="edge [^"]*"[^>]*>', dom)]
by = {(e["data-source"], e["data-destination"]): e["class"] for e in edges}
assert by.get(("default/client", "backend/backend")) == "edge dropped", by
assert by.get(("frontend/frontend", "backend/backend")) == "edge l7-denied", by
print("ok: dropped edge default/client -> backend/backend, l7-denied edge frontend/frontend -> backend/backend")
rows = re.findall(r'<tr class="edge-row dropped"[^>]*data-source="default/client"', dom)
assert rows, "no dropped row in the edge table"
initial = json.loads(re.search(r'<script id="initial" type="application/json">(.*?)</script>', dom, re.S).group(1))
assert initial["edges"] == [] and initial["nodes"] == [], "the page was not served empty"
status = re.search(r'<span id="status">(\d+) flows, (\d+) endpoints, (\d+) edges', dom)
assert status and int(status.group(3)) >= 2, status and status.group(0)
print("ok: live: served with no edges, the polls brought", status.group(0)[len('<span id="status">'):])
snap = json.load(open(sys.argv[2]))
e = next(x for x in snap["edges"] if x["source"] == "frontend/frontend" and x["destination"] == "backend/backend")
assert e["requests"].get("GET /get") == 3 and e["requests"].get("POST /post") == 1, e["requests"]
assert e["responses"].get("GET /get 200") == 3 and e["responses"].get("POST /post 403") == 1, e["responses"]
assert "HTTP/1.1" in e["protocols"] and 80 in e["ports"], e
print("ok: details", e["requests"], e["responses"], e["protocols"], e["ports"])
PY
