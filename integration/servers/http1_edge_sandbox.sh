# Shared by the HTTP/1 timeout and upgrade scenarios (integration/scenarios/5*_*.sh), sourced
# after lib.sh: a frontend and a backend pod, integration/servers/http1_edge_server.py on the
# backend's port 8080 (started here, its log in $EDGE_DIR/server.log), and a CNP that lets the
# frontend GET /allowed*, /slow*, /ws*, /unsolicited* and /upgrade-echo* there (nothing else).
# `edge_up AGENT-ARGS...` brings the sandbox up with those agent options.
EDGE_DIR=$(mktemp -d)
EDGE_SERVER_PID=
# Cleanup path: the server may have exited already, so kill's status is not checked.
trap '[ -z "$EDGE_SERVER_PID" ] || kill "$EDGE_SERVER_PID" 2>/dev/null || true; cleanup; rm -rf "$EDGE_DIR"' EXIT
EDGE_HOST=backend.backend.svc.cluster.local
EDGE=http://$EDGE_HOST:8080
PY="$ROOT/.venv/bin/python3"
[ -x "$PY" ] || PY=/usr/bin/python3
EDGE_CLIENT="$ROOT/integration/servers/http1_edge_client.py"
frontend_backend_topology "$EDGE_DIR/topology.yaml"
backend_ingress_cnp "$EDGE_DIR/policy.yaml" backend-edge-rules <<'YAML'
    - ports:
      - port: "8080"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/(allowed|slow|ws|unsolicited|upgrade-echo).*"
YAML

edge_up() {
  local args=()
  for a in "$@"; do args+=("--agent-arg=$a"); done
  "$SLUICE" sandbox up "$EDGE_DIR/topology.yaml" "${args[@]}"
  # Not through `pod` (a function: $! would be its subshell): sluice, ip netns exec and python
  # exec one another, so $! is the server's PID and the EXIT trap ends exactly it.
  "$SLUICE" sandbox exec backend/backend -- "$PY" -u "$ROOT/integration/servers/http1_edge_server.py" \
    --listen 0.0.0.0:8080 >"$EDGE_DIR/server.log" 2>&1 &
  EDGE_SERVER_PID=$!
  wait_until "the edge server listens" grep -q "listening on" "$EDGE_DIR/server.log"
  apply "$EDGE_DIR/policy.yaml"
  wait_until "an allowed GET goes through" edge_ready
}

edge_ready() { [ "$(CURL_TIMEOUT=2 http_code frontend/frontend "$EDGE/allowed/ready")" = 200 ]; }

# edge_client ARGS...: integration/servers/http1_edge_client.py in the frontend pod.
edge_client() { pod frontend/frontend "$PY" "$EDGE_CLIENT" "$@"; }
