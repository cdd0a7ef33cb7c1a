# Shared by the HTTP/2 scenarios (integration/scenarios/4*_*.sh), sourced after lib.sh:
# a topology with an h2c and a grpc server in backend/backend, and a CNP with method/path
# rules on both ports. Writes both into a temporary directory removed on exit.
H2_DIR=$(mktemp -d)
trap 'cleanup; rm -rf "$H2_DIR"' EXIT
H2_TOPO="$H2_DIR/topology.yaml"
H2_POLICY="$H2_DIR/policy.yaml"
H2=http://backend.backend.svc.cluster.local:8080
GRPC=backend.backend.svc.cluster.local:50051
PY="$ROOT/.venv/bin/python3"
frontend_backend_topology "$H2_TOPO" '["h2c:8080", "grpc:50051"]'
backend_ingress_cnp "$H2_POLICY" backend-h2-rules <<'YAML'
    - ports:
      - port: "8080"
        protocol: TCP
      rules:
        http:
        - method: "GET"
          path: "/allowed.*"
        - method: "GET"
          path: "/bytes/[0-9]+"
        - method: "POST"
          path: "/upload"
    - ports:
      - port: "50051"
        protocol: TCP
      rules:
        http:
        - method: "POST"
          path: "/grpc.health.v1.Health/.*"
        - method: "POST"
          path: "/sluice.test.Tester/(Count|Chat)"
YAML
h2_up() {
  sandbox_up "$H2_TOPO"
  apply "$H2_POLICY"
}
