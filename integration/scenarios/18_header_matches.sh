# headerMatches mismatch actions as cilium/proxy applies them (issue 13): every matching rule's
# actions run (two rules here), ADD adds the value, DELETE removes a header with another value,
# REPLACE sets it, LOG changes nothing; the upstream sees the edited request, and the request
# flow's `-o json` carries the reason and the fired actions as `:sluice-*` header entries.
source "$(dirname "$0")/../lib.sh"
sandbox_up
policy=$(mktemp --suffix .yaml)
cat > "$policy" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend-header-matches, namespace: backend}
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints:
    - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - path: "/anything/hm.*"
          headerMatches:
          - {name: X-Tenant, value: blue, mismatch: ADD}
          - {name: X-Debug, value: "off", mismatch: DELETE}
          - {name: X-Mode, value: safe, mismatch: REPLACE}
          - {name: X-Audit, mismatch: LOG}
        - method: GET
          headerMatches:
          - {name: X-Second, value: "2", mismatch: ADD}
YAML
apply "$policy"

step "the upstream sees the edits of both matching rules"
# upstream_x ARGS...: the X- request fields httpbin (the backend) received, `name=value;...` sorted.
upstream_x() {
  pod frontend/frontend curl -s -m 5 "$@" "$BACKEND/anything/hm" | python3 -c '
import json, sys
h = json.load(sys.stdin)["headers"]
print(";".join(sorted("%s=%s" % (k.lower(), v) for k, v in h.items() if k.lower().startswith("x-"))))'
}
seen=$(upstream_x -H 'X-Debug: on' -H 'X-Mode: fast')
echo "upstream saw: $seen"
expect_eq "ADD x2, DELETE, REPLACE" "x-mode=safe;x-second=2;x-tenant=blue" "$seen"
step "matching headers are left alone"
seen=$(upstream_x -H 'X-Tenant: blue' -H 'X-Debug: off' -H 'X-Mode: safe' -H 'X-Second: 2' -H 'X-Audit: 1')
expect_eq "untouched" "x-audit=1;x-debug=off;x-mode=safe;x-second=2;x-tenant=blue" "$seen"
expect_eq "a request no rule matches" 403 "$(http_code frontend/frontend -X POST $BACKEND/other)"

step "flows: reason and fired actions in -o json"
hdr='{h["key"]: h["value"] for h in http.get("headers", [])}'
expect_flows "first request: all four actions" 1 "l7.get(\"type\")==\"REQUEST\" and ${hdr}.get(\":sluice-header-actions\")==\"LOG,ADD,DELETE,REPLACE\" and ${hdr}.get(\":sluice-reason\")==\"rule-matched\""
expect_flows "second request: none fired" 1 "l7.get(\"type\")==\"REQUEST\" and f[\"verdict\"]==\"FORWARDED\" and \":sluice-header-actions\" not in ${hdr} and ${hdr}.get(\":sluice-reason\")==\"rule-matched\""
expect_flows "denied request's reason" 1 "l7.get(\"type\")==\"REQUEST\" and f[\"verdict\"]==\"DROPPED\" and ${hdr}.get(\":sluice-reason\")==\"no-rule-matched\""
rm -f "$policy"
