# The whole L3/L4 sequence of "Service Boundaries: The Cilium Way"
# (../shared/seeds/blog-service-boundaries-cilium.txt; policies in proxy-config/examples/blog/,
# topology proxy-config/sandbox/blog.yaml): baseline curl/nc/dig from frontend; the CNP deny-all
# with ingressDeny/egressDeny in three namespaces; the CCNP for CoreDNS; per-namespace DNS egress;
# front->back on 80 and back->db on 5432 restored; frontend->db still blocked; `http: [{}]`
# visibility giving L7 flows with no change in what is allowed. Client output and flow records.
#
# Where the blog and Cilium differ, this test follows Cilium:
# - `ingressDeny: [{}]` / `egressDeny: [{}]` hold one empty rule, which selects no peer, so they
#   deny nothing by themselves; the policy only turns default deny on in both directions. The
#   drops are therefore POLICY_DENIED (133, default deny), never POLICY_DENY (181), and the later
#   allows do restore traffic (had the empty deny rule denied everything, deny would beat every
#   allow and nothing would ever come back). The blog's observed outcome agrees; its wording
#   ("explicit deny fields ... ensure traffic is actually blocked") does not.
# - The blog applies "cnp-dns-egress.yaml" right after saving ccnp-allow-dns.yaml (a typo); the
#   file saved is the one applied here.
# - The blog's `dig` answers come from CoreDNS; the sandbox's kube-dns answers the same names
#   itself (no upstream), so the CCNP's world:53 and kube-apiserver:443 allowances are checked
#   with connections from the kube-dns pod to the upstream resolver and the API server.
source "$(dirname "$0")/../lib.sh"
sandbox_up "$ROOT/proxy-config/sandbox/blog.yaml"
BLOG="$ROOT/proxy-config/examples/blog"
API=http://api.backend.svc.cluster.local
PG=postgres.db.svc.cluster.local
ip_of() { python3 -c 'import json, sys; print([e["ipv4"] for e in json.load(open("/run/sluice/sandbox/state.json"))["endpoints"] if e["pod"] == sys.argv[1]][0])' "$1"; }
api_ip=$(ip_of api)
pg_ip=$(ip_of postgres)

# head_status POD URL: the status line of `curl -sI`, or "(curl exit N)" when nothing came back
# (28: timed out, a dropped SYN). nc_z and dig_short are lib.sh's.
head_status() {
  local out rc
  out=$(pod "$1" curl -sI -m "${CURL_TIMEOUT:-5}" "$2") && rc=0 || rc=$?
  if [ "$rc" = 0 ]; then printf '%s\n' "$out" | head -n 1 | tr -d '\r'; else echo "(curl exit $rc)"; fi
}
drops() { # drops DIRECTION SRC-POD DST-PORT: waits for DROPPED POLICY_DENIED flows, prints how many
  await_flows 1 "f[\"verdict\"]==\"DROPPED\" and f.get(\"drop_reason_desc\")==\"POLICY_DENIED\" and f.get(\"traffic_direction\")==\"$1\" and f[\"source\"].get(\"pod_name\")==\"$2\" and (f[\"l4\"].get(\"TCP\") or f[\"l4\"].get(\"UDP\") or {}).get(\"destination_port\")==$3"
}

step "baseline: no policy, curl/nc/dig from frontend all succeed"
expect_eq "frontend curl -sI api" "HTTP/1.1 200 OK" "$(head_status frontend/test $API)"
expect_eq "frontend nc postgres 5432" succeeded "$(nc_z frontend/test $PG 5432)"
expect_eq "frontend dig kubernetes.default" 10.96.0.1 "$(dig_short frontend/test kubernetes.default.svc.cluster.local)"

step "cnp-default-deny (frontend): no ingress, no egress, no DNS"
apply "$BLOG/cnp-default-deny.yaml"
# The blog's command by name: with DNS dropped too, curl times out resolving (28); the drop of the
# connection itself is checked by address below.
expect_eq "frontend curl -sI api (the name lookup times out)" "(curl exit 28)" "$(CURL_TIMEOUT=3 head_status frontend/test $API)"
# By address: DNS is blocked too, so the name would fail to resolve (nc exit 1, "Temporary failure
# in name resolution"), which is not the drop this checks.
expect_eq "frontend nc postgres 5432 (by address)" failed "$(nc_z frontend/test "$pg_ip" 5432)"
# Without DNS the names do not even resolve; by address the SYN leaves and is dropped.
expect_eq "frontend curl api by address" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/test "http://$api_ip/")"
expect_contains "frontend dig" "timed out" "$(dig_short frontend/test kubernetes.default.svc.cluster.local)"
expect_eq "backend curl -sI api (backend not selected yet)" "HTTP/1.1 200 OK" "$(head_status backend/app $API)"
expect_eq "backend -> frontend web (frontend ingress is default deny)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code backend/app http://web.frontend.svc.cluster.local/)"
n=$(drops EGRESS test 80); [ "$n" -ge 1 ] || fail "no DROPPED POLICY_DENIED EGRESS flow test -> :80"
echo "ok: $n EGRESS drops test -> api:80"
n=$(drops EGRESS test 53); [ "$n" -ge 1 ] || fail "no DROPPED POLICY_DENIED EGRESS flow test -> :53"
echo "ok: $n EGRESS drops test -> kube-dns:53"
n=$(drops INGRESS app 80); [ "$n" -ge 1 ] || fail "no DROPPED POLICY_DENIED INGRESS flow app -> web:80"
echo "ok: $n INGRESS drops app -> web:80"

step "cnp-deny-all: default deny in frontend, backend and db"
apply "$BLOG/cnp-deny-all.yaml"
expect_eq "backend curl -sI api (the name lookup times out)" "(curl exit 28)" "$(CURL_TIMEOUT=3 head_status backend/app $API)"
expect_eq "backend curl api by address" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code backend/app "http://$api_ip/")"
expect_eq "backend nc postgres 5432 (by address: DNS is blocked too)" failed "$(nc_z backend/app "$pg_ip" 5432)"
expect_contains "backend dig" "timed out" "$(dig_short backend/app kubernetes.default.svc.cluster.local)"
expect_eq "node -> api (allow-localhost)" 200 \
  "$(ip netns exec sluice-node curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$api_ip/")"
expect_eq "kube-dns -> API server 443 (kube-dns not selected yet)" succeeded "$(nc_z kube-system/kube-dns 10.96.0.1 443)"

step "ccnp-allow-dns: CoreDNS may reach the API server on 443 and world on 53, nothing else"
apply "$BLOG/ccnp-allow-dns.yaml"
expect_eq "kube-dns -> kube-apiserver 443" succeeded "$(nc_z kube-system/kube-dns 10.96.0.1 443)"
expect_eq "kube-dns -> world 53/TCP" succeeded "$(nc_z kube-system/kube-dns 192.0.2.53 53)"
expect_eq "kube-dns -> world 80" failed "$(nc_z kube-system/kube-dns 142.251.46.238 80)"
expect_eq "kube-dns -> pod api 80 (not world)" failed "$(nc_z kube-system/kube-dns "$api_ip" 80)"
expect_contains "frontend dig (no namespace DNS egress yet)" "timed out" "$(dig_short frontend/test kubernetes.default.svc.cluster.local)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("traffic_direction")=="EGRESS" and f["source"].get("pod_name")=="kube-dns" and f["l4"]["TCP"]["destination_port"]==80 and f["destination"].get("identity")==2')
[ "$n" -ge 1 ] || fail "no DROPPED EGRESS flow kube-dns -> world(2):80"
echo "ok: kube-dns -> world:80 dropped ($n flows), destination identity world"
n=$(count_flows 'f["verdict"]=="DROPPED" and f["source"].get("pod_name")=="kube-dns" and f["l4"].get("TCP",{}).get("destination_port")==443')
expect_eq "no drop kube-dns -> kube-apiserver:443" 0 "$n"

step "cnp-ns-dns: each namespace may query kube-dns (UDP and TCP 53)"
apply "$BLOG/cnp-ns-dns.yaml"
expect_eq "frontend dig kubernetes.default" 10.96.0.1 "$(dig_short frontend/test kubernetes.default.svc.cluster.local)"
expect_eq "frontend dig +tcp google.com" 142.251.46.238 "$(pod frontend/test dig +short +tcp +time=2 +tries=1 google.com 2>&1 | head -n 1)"
expect_eq "backend dig postgres" "$pg_ip" "$(dig_short backend/app $PG)"
expect_eq "db dig api" "$api_ip" "$(dig_short db/postgres api.backend.svc.cluster.local)"
expect_eq "frontend curl -sI api (still blocked)" "(curl exit 28)" "$(CURL_TIMEOUT=3 head_status frontend/test $API)"

step "cnp-front-to-back + cnp-back-to-db: the app's own paths come back"
apply "$BLOG/cnp-front-to-back.yaml"
apply "$BLOG/cnp-back-to-db.yaml"
expect_eq "frontend curl -sI api" "HTTP/1.1 200 OK" "$(head_status frontend/test $API)"
expect_eq "backend nc postgres 5432" succeeded "$(nc_z backend/app $PG 5432)"
expect_eq "frontend nc postgres 5432 (frontend -> db still blocked)" failed "$(nc_z frontend/test $PG 5432)"
expect_eq "backend curl api (backend egress goes to db only)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code backend/app $API/)"
expect_eq "frontend curl google.com (world egress not allowed)" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code frontend/test http://google.com/)"
expect_eq "frontend dig google.com (DNS still allowed)" 142.251.46.238 "$(dig_short frontend/test google.com)"
n=$(await_flows 1 'f["verdict"]=="DROPPED" and f.get("drop_reason_desc")=="POLICY_DENIED" and f.get("traffic_direction")=="EGRESS" and f["source"].get("pod_name")=="test" and f["destination"].get("pod_name")=="postgres" and f["l4"]["TCP"]["destination_port"]==5432 and f["l4"]["TCP"].get("flags",{}).get("SYN") is True and f["source"].get("identity",0)>=256 and f["destination"].get("identity",0)>=256')
[ "$n" -ge 1 ] || fail "no DROPPED POLICY_DENIED flow test -> postgres:5432 with identities and SYN"
echo "ok: frontend -> db drops: $n"
expect_absent "drop flows leave is_reply unknown (Hubble)" 'f["verdict"]=="DROPPED" and "is_reply" in f' 'f["verdict"]=="DROPPED"'
compact=$("$SLUICE" observe --verdict DROPPED --last 1)
echo "$compact"
expect_contains "compact drop" "(ID:" "$compact"
expect_contains "compact drop" " <> " "$compact"
expect_absent "explicit-deny (181) drops anywhere: the empty deny rules select no peer" \
  'f.get("drop_reason_desc")=="POLICY_DENY"' 'f.get("drop_reason_desc")=="POLICY_DENIED"'
expect_absent "L7 flows before visibility" 'f.get("Type")=="L7" and f["destination"].get("pod_name")=="api"' \
  'f["destination"].get("pod_name")=="api"'

step "http: [{}] on front->back: L7 flows, nothing else changes"
apply "$BLOG/cnp-front-to-back-l7.yaml"
body=$(pod frontend/test curl -s -m 5 $API/)
expect_contains "frontend curl api / (body)" "<html" "$body"
expect_eq "frontend curl api /h" 404 "$(http_code frontend/test $API/h)"
expect_eq "frontend curl -sI api" "HTTP/1.1 200 OK" "$(head_status frontend/test $API)"
expect_eq "frontend POST api /post (visibility only: any request passes)" 200 "$(http_code frontend/test -X POST $API/post)"
expect_eq "backend nc postgres 5432" succeeded "$(nc_z backend/app $PG 5432)"
expect_eq "frontend nc postgres 5432" failed "$(nc_z frontend/test $PG 5432)"
expect_eq "backend curl api" "000 (curl exit 28)" "$(CURL_TIMEOUT=3 http_code backend/app $API/)"
await_flows 2 'l7.get("type")=="REQUEST" and f["verdict"]=="FORWARDED" and http.get("method")=="GET" and http.get("url","").endswith("/") and f["source"].get("pod_name")=="test" and f["destination"].get("pod_name")=="api"' >/dev/null
# Both sides carry a visibility rule: like Cilium's two proxies, a flow per side (EGRESS, INGRESS).
expect_eq "L7 GET / request flows (egress, ingress)" "EGRESS INGRESS" "$(flows_json | python3 -c '
import json, sys
dirs = sorted(f["traffic_direction"] for f in (json.loads(l)["flow"] for l in sys.stdin if l.strip())
              if f.get("l7", {}).get("type") == "REQUEST" and f["verdict"] == "FORWARDED"
              and f["l7"].get("http", {}).get("method") == "GET" and f["l7"]["http"].get("url", "").endswith("/")
              and f["source"].get("pod_name") == "test" and f["destination"].get("pod_name") == "api")
print(" ".join(dirs))')"
expect_flows "L7 GET /h response 404 flows" 2 'f.get("l7",{}).get("type")=="RESPONSE" and http.get("code")==404 and http.get("url","").endswith("/h")'
expect_flows "L7 HEAD request flows" 2 'f.get("l7",{}).get("type")=="REQUEST" and http.get("method")=="HEAD"'
compact=$("$SLUICE" observe --protocol http --last 20)
echo "$compact"
expect_contains "compact L7" "http-request FORWARDED (HTTP/1.1 GET http://api.backend.svc.cluster.local/h)" "$compact"
