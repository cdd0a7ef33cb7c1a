#!/usr/bin/env python3
"""The multi-node sandbox's glue to the fake API server (`sluice sandbox up` runs it; standard
library only).

  forward  --netns NETNS --listen ADDR:PORT --to HOST:PORT
      Listens on ADDR:PORT inside network namespace NETNS (the sandbox's world namespace, where
      the nodes reach the API server as kubernetes.default.svc, 10.96.0.1:443) and relays every
      connection, bytes untouched (TLS end to end), to HOST:PORT in this process's own namespace
      (the fake API server on 127.0.0.1, where kubectl on this machine reaches it). The listening
      socket is made after setns(2) into NETNS and the process returns to its namespace at once:
      a socket stays in the namespace it was made in. Connection refused upstream (the server
      was stopped with /stop) closes the client's connection, as an unreachable API server would.

  register --dir FAKEDIR --objects FILE.json
      Registers the sandbox's namespaces and pods as a kubelet (and the namespace controller)
      would: namespaces created (labels merged into one that exists), pods created with
      spec.nodeName and then their status (phase Running, podIP, podIPs, hostIP) written through
      the status subresource. FILE: {"namespaces": [{"name", "labels"}], "pods": [{"namespace",
      "name", "labels", "ip", "node", "hostIP", "serviceAccount"}]}. Exit 1 with the server's
      answer on any failure.

  apply --dir FAKEDIR --file POLICY.yaml       (what `sluice apply -f` does in a multi-node sandbox)
  delete --dir FAKEDIR --file POLICY.yaml [--ignore-not-found]
      Creates, or replaces (keeping the resourceVersion), each CiliumNetworkPolicy,
      CiliumClusterwideNetworkPolicy and NetworkPolicy of the file in the API server, or deletes
      them, as kubectl apply/delete -f; prints `KIND/NAME created|configured|deleted` per object.
      The agents of every node learn them by their watches and validate them.
"""
import argparse
import ctypes
import json
import os
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.request

CLONE_NEWNET = 0x40000000


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def relay(client, target):
    try:
        upstream = socket.create_connection(target, timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    threads = [threading.Thread(target=pump, args=(client, upstream), daemon=True),
               threading.Thread(target=pump, args=(upstream, client), daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    upstream.close()


def forward(args):
    host, _, port = args.listen.rpartition(":")
    to_host, _, to_port = args.to.rpartition(":")
    own = "/proc/self/ns/net"
    own_fd = os.open(own, os.O_RDONLY)
    setns(f"/run/netns/{args.netns}")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(128)
    setns(f"/proc/self/fd/{own_fd}")
    os.close(own_fd)
    print(f"sandbox_kube forward: {args.netns} {args.listen} -> {args.to}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, (to_host, int(to_port))), daemon=True).start()


class Client:
    def __init__(self, directory):
        with open(os.path.join(directory, "server.json")) as f:
            self.url = json.load(f)["url"].rstrip("/")
        with open(os.path.join(directory, "token")) as f:
            self.token = f.read().strip()
        self.context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def register(args):
    with open(args.objects) as f:
        objects = json.load(f)
    api = Client(args.dir)

    def check(what, answer, ok):
        status, body = answer
        if status not in ok:
            sys.exit(f"sandbox_kube register: {what}: HTTP {status}: {body.get('message', body)}")
        return body

    for ns in objects.get("namespaces", []):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns["name"], "labels": ns["labels"]}}
        status, answer = api.call("POST", "/api/v1/namespaces", body)
        if status == 409:
            check(f"namespace {ns['name']}",
                  api.call("PATCH", f"/api/v1/namespaces/{ns['name']}", {"metadata": {"labels": ns["labels"]}},
                           "application/merge-patch+json"), (200,))
        else:
            check(f"namespace {ns['name']}", (status, answer), (201,))
    for pod in objects.get("pods", []):
        path = f"/api/v1/namespaces/{pod['namespace']}/pods"
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod["name"], "namespace": pod["namespace"], "labels": pod["labels"]},
                "spec": {"nodeName": pod["node"], "serviceAccountName": pod["serviceAccount"],
                         "containers": [{"name": "main", "image": "sluice-sandbox"}]}}
        created = check(f"pod {pod['namespace']}/{pod['name']}", api.call("POST", path, body), (201,))
        created["status"] = {"phase": "Running", "podIP": pod["ip"], "podIPs": [{"ip": pod["ip"]}],
                             "hostIP": pod["hostIP"],
                             "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0,
                                                    "image": "sluice-sandbox", "imageID": "", "started": True,
                                                    "state": {"running": {}}}]}
        check(f"pod {pod['namespace']}/{pod['name']} status",
              api.call("PUT", f"{path}/{pod['name']}/status", created), (200,))
    print(f"sandbox_kube register: {len(objects.get('namespaces', []))} namespaces, "
          f"{len(objects.get('pods', []))} pods", flush=True)


KINDS = {
    "CiliumNetworkPolicy": ("/apis/cilium.io/v2", "ciliumnetworkpolicies", True),
    "CiliumClusterwideNetworkPolicy": ("/apis/cilium.io/v2", "ciliumclusterwidenetworkpolicies", False),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
}


def policy_documents(path):
    import yaml

    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    out = []
    for doc in documents:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in KINDS:
            sys.exit(f"sandbox_kube: {path}: kind {kind!r} is not CiliumNetworkPolicy, "
                     "CiliumClusterwideNetworkPolicy or NetworkPolicy")
        name = doc.get("metadata", {}).get("name")
        if not name:
            sys.exit(f"sandbox_kube: {path}: a {kind} without metadata.name")
        base, plural, namespaced = KINDS[kind]
        namespace = doc["metadata"].get("namespace", "default") if namespaced else None
        if namespaced:
            doc["metadata"]["namespace"] = namespace
        collection = f"{base}/namespaces/{namespace}/{plural}" if namespaced else f"{base}/{plural}"
        group = base.split("/")[2]
        out.append((doc, collection, f"{kind.lower()}.{group}/{name}"))
    return out


def apply(args):
    api = Client(args.dir)
    for doc, collection, label in policy_documents(args.file):
        name = doc["metadata"]["name"]
        status, body = api.call("POST", collection, doc)
        if status == 409:
            status, current = api.call("GET", f"{collection}/{name}")
            if status != 200:
                sys.exit(f"error: {label}: HTTP {status}: {current.get('message', current)}")
            doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            status, body = api.call("PUT", f"{collection}/{name}", doc)
            verb = "configured"
        else:
            verb = "created"
        if status not in (200, 201):
            sys.exit(f"error: {label}: HTTP {status}: {body.get('message', body)}")
        print(f"{label} {verb}", flush=True)


def delete(args):
    api = Client(args.dir)
    for doc, collection, label in policy_documents(args.file):
        status, body = api.call("DELETE", f"{collection}/{doc['metadata']['name']}")
        if status == 404 and args.ignore_not_found:
            continue
        if status not in (200, 202):
            sys.exit(f"error: {label}: HTTP {status}: {body.get('message', body)}")
        print(f"{label} deleted", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("forward")
    f.add_argument("--netns", required=True)
    f.add_argument("--listen", required=True)
    f.add_argument("--to", required=True)
    r = sub.add_parser("register")
    r.add_argument("--dir", required=True)
    r.add_argument("--objects", required=True)
    for verb in ("apply", "delete"):
        p = sub.add_parser(verb)
        p.add_argument("--dir", required=True)
        p.add_argument("--file", required=True)
        if verb == "delete":
            p.add_argument("--ignore-not-found", action="store_true")
    args = parser.parse_args()
    {"forward": forward, "register": register, "apply": apply, "delete": delete}[args.command](args)


if __name__ == "__main__":
    main()
