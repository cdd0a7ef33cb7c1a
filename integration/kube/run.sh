#!/usr/bin/env bash
# `make test-kube`: deploy/ validated offline (kubernetes-validate, strict, oldest and newest
# schemas it ships), then the fake API server's tests with real clients (test_fakeapi.py: kubectl
# and the Python `kubernetes` client). Needs no root and no sandbox. kubectl missing fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
if [ -z "$KUBECTL" ]; then
  echo "test-kube: kubectl is missing (Debian: apt-get install kubernetes-client; make deps does it): failing" >&2
  exit 1
fi
if [ ! -x "$python" ] || ! "$python" -c 'import kubernetes, kubernetes_validate' 2>/dev/null; then
  echo "test-kube: $python lacks the kubernetes and kubernetes-validate packages (make deps): failing" >&2
  exit 1
fi
export KUBECTL
echo "--- kubernetes-validate --strict deploy/"
for version in 1.25.0 1.37.0; do
  "$python" -m kubernetes_validate --strict --quiet -k "$version" \
    "$root"/deploy/*.yaml "$root"/deploy/cilium-crds/*.yaml
  echo "ok: deploy/ is valid for Kubernetes $version"
done
echo "--- fake API server with kubectl ($("$KUBECTL" version --client 2>/dev/null | head -1)) and the Python client"
exec "$python" "$here/test_fakeapi.py"
