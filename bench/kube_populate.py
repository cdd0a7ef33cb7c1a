"""bench/kube.sh's API load: creates in the fake API server (over HTTPS with its CA and token, one
keep-alive connection) the namespace `bench`, PODS pods of node NODE (labels app=client-N,
N < POLICIES, an IPv4 address each, set through the status subresource as a kubelet would) and
POLICIES CiliumNetworkPolicies (one per label app=client-N: allow it to bench/upstream:80 GET
/pN); or, with --big NAME, one CNP of RULES HTTP rules and prints nothing.

Usage: kube_populate.py DIR [--pods 5000] [--policies 1000] [--node n2] | DIR --big NAME --rules 1000
       kube_populate.py DIR --count-identities (prints how many SluiceIdentity objects there are)
"""
import argparse
import http.client
import json
import ssl
import sys


def connect(d):
    server = json.load(open(f"{d}/server.json"))
    ctx = ssl.create_default_context(cafile=f"{d}/ca.crt")
    token = open(f"{d}/token").read().strip()
    conn = http.client.HTTPSConnection(server["host"], server["port"], context=ctx)
    return conn, token


def request(conn, token, method, path, body, content_type="application/json"):
    conn.request(method, path, body=json.dumps(body),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    r = conn.getresponse()
    data = r.read()
    if r.status not in (200, 201):
        sys.exit(f"{method} {path}: HTTP {r.status}: {data[:300]!r}")


def cnp(name, rules, client):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {"endpointSelector": {"matchLabels": {"app": "upstream"}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {"app": client}}],
                                  "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}],
                                               "rules": {"http": rules}}]}]}}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--pods", type=int, default=5000)
    p.add_argument("--policies", type=int, default=1000)
    p.add_argument("--node", default="n2", help="the pods' spec.nodeName")
    p.add_argument("--big")
    p.add_argument("--rules", type=int, default=1000)
    p.add_argument("--count-identities", action="store_true")
    a = p.parse_args()
    conn, token = connect(a.dir)
    if a.count_identities:
        conn.request("GET", "/apis/sluice.io/v1alpha1/sluiceidentities", headers={"Authorization": f"Bearer {token}"})
        print(len(json.loads(conn.getresponse().read())["items"]))
        return
    cnps = "/apis/cilium.io/v2/namespaces/bench/ciliumnetworkpolicies"
    if a.big:
        rules = [{"method": "GET", "path": f"/big/{i}"} for i in range(a.rules)]
        request(conn, token, "POST", cnps, cnp(a.big, rules, "client"))
        return
    request(conn, token, "POST", "/api/v1/namespaces",
            {"metadata": {"name": "bench", "labels": {"name": "bench"}}})
    for i in range(a.pods):
        name = f"remote-{i}"
        request(conn, token, "POST", "/api/v1/namespaces/bench/pods", {
            "metadata": {"name": name, "namespace": "bench", "labels": {"app": f"client-{i % a.policies}"}},
            "spec": {"nodeName": a.node, "containers": [{"name": "c", "image": "x"}]}})
        ip = f"10.250.{i // 250}.{i % 250 + 1}"
        request(conn, token, "PATCH", f"/api/v1/namespaces/bench/pods/{name}/status",
                {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
                "application/merge-patch+json")
    for i in range(a.policies):
        request(conn, token, "POST", cnps, cnp(f"p{i}", [{"method": "GET", "path": f"/p{i}"}], f"client-{i}"))


if __name__ == "__main__":
    main()
