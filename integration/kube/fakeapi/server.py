#!/usr/bin/env python3
"""Sluice's fake Kubernetes API server: test infrastructure that real clients (kubectl, the
Python `kubernetes` client, later the agent) talk to as to a kube-apiserver. See README.md beside
this file for what it serves and how faithfully.

    python integration/kube/fakeapi/server.py --dir DIR [--address 127.0.0.1] [--port 0]
        [--bookmark-interval SECONDS] [--load FILE]...

writes DIR/{ca.crt,server.crt,server.key,token,kubeconfig,server.json} once it listens
(server.json: {"url", "control", "pid", "host", "port"}), and serves a plain-HTTP control endpoint
on loopback: POST /compact, /expire, /stop, /start; GET /state. SIGUSR1 compacts, SIGUSR2 toggles stop/start.
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

import k8sproto
import selection as sel
from store import ApiError, Store, expired

VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0-sluice-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# /openapi/v2 as protobuf (what client-go asks for): a gnostic openapi_v2.Document whose field 1
# (swagger) is "2.0" and which has no definitions. kubectl then finds no schema for any kind, so
# its client-side validation accepts every object and `kubectl apply` falls back to the patch
# strategies compiled into it for the built-in kinds (JSON merge patch for custom resources).
OPENAPI_V2_PROTOBUF = b"\x0a\x032.0"
OPENAPI_V2_MIME = "application/octet-stream"

# Paths served without a token (the real server's system:public-info-viewer).
PUBLIC = {"/healthz", "/livez", "/readyz"}


def human_age(timestamp):
    """kubectl's HumanDuration of the time since an RFC 3339 timestamp."""
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = max(0, int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _json_path(obj, path):
    node = obj
    for part in path.strip(".").split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


_EVENT_COLUMNS = [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
                  ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]


def event_cells(obj):
    """A core/v1 Event's row as the real server prints it (wide: every column): last and first
    seen as ages, `kind/name` of the involved object (kind lower-cased), the source as
    `component, host` (falling back to reportingComponent and reportingInstance)."""
    involved, source = obj.get("involvedObject") or {}, obj.get("source") or {}
    first = human_age(obj.get("firstTimestamp") or obj.get("eventTime"))
    last = human_age(obj.get("lastTimestamp")) if obj.get("lastTimestamp") else first
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {host}" if host else component, (obj.get("message") or "").strip(), first,
            obj.get("count") or 1, obj.get("metadata", {}).get("name")]


def table_columns(res):
    name = {"name": "Name", "type": "string", "format": "name", "priority": 0,
            "description": "Name must be unique within a namespace."}
    age = {"name": "Age", "type": "string", "format": "", "priority": 0,
           "description": "CreationTimestamp is a timestamp representing the server time when this object was created."}
    if res.kind == "Namespace":
        return [name, {"name": "Status", "type": "string", "format": "", "priority": 0,
                       "description": "The status of the namespace"}, age]
    if res.kind == "Pod":
        cols = [("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0)]
        wide = [("IP", "string", 1), ("Node", "string", 1)]
        return ([name] + [{"name": n, "type": t, "format": "", "priority": p, "description": n} for n, t, p in cols]
                + [age] + [{"name": n, "type": t, "format": "", "priority": p, "description": n} for n, t, p in wide])
    if res.kind == "NetworkPolicy":
        return [name, {"name": "Pod-Selector", "type": "string", "format": "", "priority": 0,
                       "description": "The pods the policy selects"}, age]
    if res.kind == "CustomResourceDefinition":
        return [name, {"name": "Created At", "type": "date", "format": "", "priority": 0,
                       "description": "The time the CRD was created"}]
    if res.kind == "Event":
        # The real server's columns (kubectl shows priority 0; -o wide all of them).
        return [{"name": n, "type": "string", "format": "name" if n == "Name" else "", "priority": p,
                 "description": n} for n, p in _EVENT_COLUMNS]
    cols = [name]
    for column in res.columns or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]:
        kind = "string" if column.get("type") == "date" else column.get("type", "string")
        cols.append({"name": column["name"], "type": kind,
                     "format": column.get("format", ""), "priority": column.get("priority", 0),
                     "description": column.get("description", column["name"])})
    return cols


def table_cells(res, obj):
    meta = obj.get("metadata", {})
    age = human_age(meta.get("creationTimestamp"))
    if res.kind == "Namespace":
        return [meta.get("name"), obj.get("status", {}).get("phase", ""), age]
    if res.kind == "Pod":
        containers = obj.get("spec", {}).get("containers", [])
        statuses = obj.get("status", {}).get("containerStatuses", [])
        ready = sum(1 for s in statuses if s.get("ready"))
        return [meta.get("name"), f"{ready}/{len(containers)}", obj.get("status", {}).get("phase", ""),
                str(sum(s.get("restartCount", 0) for s in statuses)), age,
                obj.get("status", {}).get("podIP", "<none>"), obj.get("spec", {}).get("nodeName", "<none>")]
    if res.kind == "NetworkPolicy":
        labels = (obj.get("spec", {}).get("podSelector") or {}).get("matchLabels") or {}
        return [meta.get("name"), ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>", age]
    if res.kind == "CustomResourceDefinition":
        return [meta.get("name"), meta.get("creationTimestamp")]
    if res.kind == "Event":
        return event_cells(obj)
    cells = [meta.get("name")]
    for column in res.columns or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]:
        value = _json_path(obj, column.get("jsonPath", ""))
        if column.get("type") == "date":
            value = human_age(value) if value else "<unknown>"
        if value is None:
            value = "<none>"
        cells.append(value if isinstance(value, (int, float, str)) else json.dumps(value))
    return cells


def table_row(res, obj, include):
    row = {"cells": table_cells(res, obj)}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
    return row


class FakeAPI:
    """The listening HTTPS server(s) and their state; stop()/start() close and reopen the port."""

    def __init__(self, args):
        self.args = args
        self.store = Store()
        self.token = args.token or secrets.token_hex(24)
        self.bookmark_interval = args.bookmark_interval
        self.generation = 0  # bumped by stop(): watches of an older generation end
        self.expiry = 0  # bumped by expire(): open watches get ERROR 410 and end
        self.server = None
        self.port = args.port
        self.connections = set()
        self.conn_lock = threading.Lock()
        self.ssl_context = None

    # ------------------------------------------------------------ TLS material

    def make_certificates(self):
        d = self.args.dir
        sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:::1"]
        if self.args.address not in ("127.0.0.1", "0.0.0.0", "::1", "::"):
            sans.append(f"IP:{self.args.address}")
        sans += [s if ":" in s and s.split(":")[0] in ("DNS", "IP") else f"DNS:{s}" for s in self.args.san]

        def run(*command):
            subprocess.run(command, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
            "-subj", "/CN=sluice-fake-apiserver-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver")
        with open(os.path.join(d, "server.ext"), "w") as ext:
            ext.write(f"subjectAltName={','.join(sans)}\nextendedKeyUsage=serverAuth\n"
                      "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n"
                      "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "30", "-extfile", "server.ext")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
        context.set_alpn_protocols(["http/1.1"])
        self.ssl_context = context

    def write_files(self, control_port):
        d = self.args.dir
        host = self.args.address if self.args.address not in ("0.0.0.0", "::") else "127.0.0.1"
        url = f"https://{'[' + host + ']' if ':' in host else host}:{self.port}"
        with open(os.path.join(d, "token"), "w") as f:
            f.write(self.token + "\n")
        # The CA inline, so a copy of the kubeconfig (--kubeconfig) works wherever it is read.
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            ca_data = base64.b64encode(f.read()).decode()
        kubeconfig = f"""apiVersion: v1
kind: Config
clusters:
- name: sluice-fake
  cluster:
    server: {url}
    certificate-authority-data: {ca_data}
users:
- name: sluice-fake-admin
  user:
    token: {self.token}
contexts:
- name: sluice-fake
  context:
    cluster: sluice-fake
    user: sluice-fake-admin
    namespace: default
current-context: sluice-fake
"""
        for path in [os.path.join(d, "kubeconfig")] + ([self.args.kubeconfig] if self.args.kubeconfig else []):
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(kubeconfig)
            os.replace(tmp, path)
        account = os.path.join(d, "serviceaccount")
        os.makedirs(account, exist_ok=True)
        for name, content in (("token", self.token), ("namespace", "default"),
                              ("ca.crt", open(os.path.join(d, "ca.crt")).read())):
            with open(os.path.join(account, name), "w") as f:
                f.write(content)
        state = {"url": url, "control": f"http://127.0.0.1:{control_port}", "pid": os.getpid(), "host": host,
                 "port": self.port}
        with open(os.path.join(d, "server.json.tmp"), "w") as f:
            json.dump(state, f)
        os.replace(os.path.join(d, "server.json.tmp"), os.path.join(d, "server.json"))

    # ------------------------------------------------------------ serving

    def start(self):
        if self.server is not None:
            return False
        api = self

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            address_family = socket.AF_INET6 if ":" in api.args.address else socket.AF_INET

            def get_request(self):
                sock, addr = self.socket.accept()
                # Headers and body leave in separate writes: without NODELAY, Nagle holds the body
                # for the client's delayed ACK (40 ms a request).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return api.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        self.server = Server((self.args.address, self.port), Handler)
        self.server.api = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return True

    def expire(self):
        """Compacts, and ends every open watch with ERROR 410 Expired: every client must relist."""
        with self.store.cond:
            self.store.compact()
            self.expiry += 1
            self.store.cond.notify_all()

    def stop(self):
        """Closes the port and every open connection (watches included); the state is kept."""
        if self.server is None:
            return False
        server, self.server = self.server, None
        with self.store.cond:
            self.generation += 1
            self.store.cond.notify_all()
        server.shutdown()
        server.server_close()
        with self.conn_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sluice-fake-apiserver"

    def log_message(self, fmt, *args):
        if self.server.api.args.verbose:
            sys.stderr.write("fakeapi: " + (fmt % args) + "\n")

    def setup(self):
        super().setup()
        with self.server.api.conn_lock:
            self.server.api.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        with self.server.api.conn_lock:
            self.server.api.connections.discard(self.connection)

    def handle(self):
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            return
        try:
            super().handle()
        except (ssl.SSLError, OSError):
            pass

    # ------------------------------------------------------------ responses

    def send_json(self, code, body, content_type="application/json", extra=None):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_status(self, error):
        extra = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        if error.code == 401:
            extra = {"Www-Authenticate": 'Bearer realm="sluice-fake-apiserver"'}
        self.send_json(error.code, error.status(), extra=extra)

    def read_body(self):
        try:
            return self._read_body()
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "BadRequest", "malformed request body framing") from None

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return data

    def parse_body(self, data):
        if not data:
            return None
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            import yaml

            try:
                return yaml.safe_load(data)
            except yaml.YAMLError as error:
                raise ApiError(400, "BadRequest", f"error decoding YAML: {error}") from None
        if content_type == "application/vnd.kubernetes.protobuf":
            try:
                return k8sproto.decode(data)
            except (k8sproto.ProtoError, UnicodeDecodeError) as error:
                raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                             f"accepted media types include: application/json, "
                                                             f"application/yaml ({error})") from None
        if content_type not in ("application/json", "application/json-patch+json", "application/merge-patch+json",
                                "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                         f"accepted media types include: application/json, "
                                                         f"application/yaml")
        try:
            return json.loads(data)
        except ValueError as error:
            raise ApiError(400, "BadRequest", f"error decoding JSON: {error}") from None

    # ------------------------------------------------------------ dispatch

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self):
        api = self.server.api
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self.read_body()
            if path not in PUBLIC:
                # The scheme is case-insensitive, as the real server's (the Python in-cluster loader sends "bearer").
                scheme, _, credential = self.headers.get("Authorization", "").strip().partition(" ")
                if scheme.lower() != "bearer" or not secrets.compare_digest(
                        credential.strip().encode("utf-8", "replace"), api.token.encode()):
                    raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(api, path, query, body)
        except ApiError as error:
            self.send_error_status(error)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as error:  # a bug or input nothing above foresaw: answer 500, keep serving
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send_error_status(ApiError(500, "InternalError", f"Internal error occurred: {error!r}"))
            except OSError:
                pass

    def route(self, api, path, query, body):
        store = api.store
        parts = path.strip("/").split("/") if path != "/" else []
        if path in PUBLIC:
            return self.send_json(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send_json(200, VERSION)
        if path == "/openapi/v2":
            return self.send_json(200, OPENAPI_V2_PROTOBUF, OPENAPI_V2_MIME)
        if path == "/api":
            host = self.headers.get("Host", "")
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                        "serverAddress": host}]})
        if path == "/apis":
            groups = []
            for group, versions in store.group_versions().items():
                if not group:
                    continue
                entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
                groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts[:1] == ["apis"] and len(parts) == 2:
            versions = store.group_versions().get(parts[1])
            if not versions:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            entries = [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in versions]
            return self.send_json(200, {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1],
                                        "versions": entries, "preferredVersion": entries[0]})
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resources = store.resources_of(group, version)
        if not resources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self.send_json(200, self.resource_list(group, version, resources))
        watch_path = rest[0] == "watch"
        if watch_path:
            rest = rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and store.find(group, version, rest[2]) and \
                store.find(group, version, rest[2]).namespaced:
            namespace, rest = rest[1], rest[2:]
        res = store.find(group, version, rest[0]) if rest else None
        if res is None or len(rest) > 3 or (len(rest) == 3 and not (rest[2] == "status" and res.status)):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if res.namespaced and namespace is None and name is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        dry_run = query.get("dryRun") == "All"
        strict = query.get("fieldValidation") == "Strict"
        method = self.command
        if name is None:
            labels = self.parse_selector(sel.parse_label_selector, query.get("labelSelector"))
            fields = self.parse_selector(lambda t: sel.parse_field_selector(t, res.kind), query.get("fieldSelector"))
            if method in ("GET", "HEAD") and (watch_path or query.get("watch") in ("true", "1")):
                return self.watch(api, res, namespace, labels, fields, query)
            if method in ("GET", "HEAD"):
                return self.list(store, res, namespace, labels, fields, query)
            if method == "POST":
                obj = self.require_object(self.parse_body(body))
                return self.send_json(201, store.create(res, namespace, obj, dry_run, strict))
            if method == "DELETE":
                items = store.delete_collection(res, namespace, labels, fields)
                return self.send_json(200, {"kind": f"{res.kind}List", "apiVersion": res.group_version,
                                            "metadata": {"resourceVersion": str(store.rv)}, "items": items})
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
        if method in ("GET", "HEAD"):
            obj = store.get(res, namespace, name)
            return self.send_json_table(200, obj, self.table_for(res, [obj], str(obj["metadata"]["resourceVersion"])))
        if method == "PUT":
            obj = self.require_object(self.parse_body(body))
            return self.send_json(200, store.update(res, namespace, name, obj, sub, dry_run, strict=strict))
        if method == "PATCH":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type == "application/apply-patch+yaml":
                raise ApiError(415, "UnsupportedMediaType", "server-side apply is not implemented by the fake API "
                                                            "server: use client-side kubectl apply")
            patch_body = self.parse_body(body)
            return self.send_json(200, store.patch(res, namespace, name, content_type, patch_body, sub, dry_run,
                                                   strict))
        if method == "DELETE" and sub is None:
            options = self.parse_body(body) if body else None
            gone, return_object = store.delete(res, namespace, name, options, dry_run)
            if return_object:
                return self.send_json(200, gone)
            details = res.details(name)
            details["uid"] = gone["metadata"]["uid"]
            return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "details": details})
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    def require_object(obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        return obj

    @staticmethod
    def parse_selector(parse, text):
        try:
            return parse(text)
        except sel.SelectorError as error:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {error}") from None

    @staticmethod
    def resource_list(group, version, resources):
        out = []
        for res in resources:
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
            entry = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
                     "kind": res.kind, "verbs": verbs}
            if res.short_names:
                entry["shortNames"] = res.short_names
            if res.categories:
                entry["categories"] = res.categories
            out.append(entry)
            if res.status:
                out.append({"name": f"{res.plural}/status", "singularName": "", "namespaced": res.namespaced,
                            "kind": res.kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": out}

    def wants_table(self):
        """(meta.k8s.io version) when the client asks for a Table first, as kubectl get does."""
        for media in (self.headers.get("Accept") or "").split(","):
            params = dict(p.strip().split("=", 1) for p in media.split(";")[1:] if "=" in p)
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
                return params.get("v", "v1")
            if media.split(";")[0].strip() in ("application/json", "*/*"):
                return None
        return None

    def table_for(self, res, items, rv, with_columns=True):
        version = self.wants_table()
        if version is None:
            return ()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        include = query.get("includeObject", ["Metadata"])[-1]
        table = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": {"resourceVersion": rv},
                 "columnDefinitions": table_columns(res) if with_columns else [],
                 "rows": [table_row(res, item, include) for item in items]}
        return (table,)

    def send_json_table(self, code, body, table):
        if table:
            return self.send_json(code, table[0], f"application/json;as=Table;v={table[0]['apiVersion'][13:]};"
                                                  f"g=meta.k8s.io")
        return self.send_json(code, body)

    def list(self, store, res, namespace, labels, fields, query):
        rv, match = query.get("resourceVersion"), query.get("resourceVersionMatch")
        if match and not rv:
            raise ApiError(422, "Invalid", "resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match not in (None, "", "Exact", "NotOlderThan"):
            raise ApiError(422, "Invalid", f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
                                           '"Exact", "NotOlderThan"')
        if match == "Exact" and rv == "0":
            raise ApiError(422, "Invalid", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "limit must be an integer") from None
        if rv and not rv.isdigit():
            raise ApiError(400, "BadRequest", f"invalid resource version: {rv}")
        token = query.get("continue") or None
        if token and rv:
            raise ApiError(422, "Invalid", "specifying resource version is not allowed when using continue")
        items, at, next_token, remaining = store.list(res, namespace, labels, fields, rv, match, limit, token)
        meta = {"resourceVersion": str(at)}
        if next_token:
            meta["continue"] = next_token
            if not labels and not fields:
                meta["remainingItemCount"] = remaining
        table = self.table_for(res, items, str(at))
        if table:
            table[0]["metadata"].update(meta)
            return self.send_json_table(200, None, table)
        return self.send_json(200, {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta,
                                    "items": items})

    # ------------------------------------------------------------ watch

    def watch(self, api, res, namespace, labels, fields, query):
        store = api.store
        rv, match = query.get("resourceVersion") or "", query.get("resourceVersionMatch")
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        initial = query.get("sendInitialEvents")
        if initial is not None and initial not in ("true", "false"):
            raise ApiError(400, "BadRequest", "sendInitialEvents must be true or false")
        if initial is not None and match != "NotOlderThan":
            raise ApiError(422, "Invalid", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for "
                                           "watch unless resourceVersionMatch is set to NotOlderThan")
        if initial == "true" and not bookmarks:
            raise ApiError(422, "Invalid", "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
                                           "allowWatchBookmarks to true")
        if match and match != "NotOlderThan":
            raise ApiError(422, "Invalid", f'resourceVersionMatch: Unsupported value: "{match}" for watch')
        if rv and not rv.isdigit():
            raise ApiError(400, "BadRequest", f"invalid resource version: {rv}")
        if rv not in ("", "0") and initial == "true" and int(rv) > store.rv:
            raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {store.rv}")
        try:
            timeout = float(query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, "BadRequest", "timeoutSeconds must be a number") from None
        deadline = time.monotonic() + timeout
        table = self.wants_table()
        include = query.get("includeObject", "Metadata")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if table is None else
                         f"application/json;as=Table;v={table};g=meta.k8s.io")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

        def visible(obj):
            if obj is None:
                return False
            if res.namespaced and namespace and obj["metadata"].get("namespace") != namespace:
                return False
            return sel.labels_match(labels, obj["metadata"].get("labels")) and sel.fields_match(fields, obj)

        def encode(kind, obj):
            obj = store._served(res, obj)
            if table is not None and kind in ("ADDED", "MODIFIED", "DELETED"):
                obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{table}",
                       "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                       "columnDefinitions": table_columns(res), "rows": [table_row(res, obj, include)]}
            return json.dumps({"type": kind, "object": obj}).encode() + b"\n"

        def bookmark(at, end=False):
            meta = {"resourceVersion": str(at)}
            if end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            return json.dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.group_version,
                                                               "metadata": meta}}).encode() + b"\n"

        out = []
        with store.cond:
            generation, expiry = api.generation, api.expiry
            send_initial = (rv in ("", "0") and initial != "false") or initial == "true"
            if send_initial:
                at = store.rv
                for key in sorted(store.objects.get(res.gk, {})):
                    obj = store.objects[res.gk][key]
                    if visible(obj):
                        out.append(encode("ADDED", obj))
                if initial == "true":
                    out.append(bookmark(at, end=True))
            elif rv in ("", "0") and initial == "false":
                at = store.rv
            else:
                at = int(rv)
                if at < store.compacted:
                    error = expired(f"too old resource version: {at} ({store.compacted})")
                    out.append(json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n")
                    at = None
        if not self.write_chunks(out) or at is None:
            return self.end_chunks()
        last_bookmark = time.monotonic()
        while True:
            out, events = [], []
            with store.cond:
                while True:
                    if api.generation != generation or api.server is None:
                        return None
                    if api.expiry != expiry:
                        error = expired(f"too old resource version: {at} ({store.compacted})")
                        out.append(json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n")
                        at = None
                        break
                    now = time.monotonic()
                    if now >= deadline:
                        break
                    try:
                        events = store.events_after(res.gk, at)
                    except ApiError as error:
                        out.append(json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n")
                        at = None
                        break
                    if events:
                        break
                    if bookmarks and now - last_bookmark >= api.bookmark_interval:
                        break
                    wait = deadline - now
                    if bookmarks:
                        wait = min(wait, api.bookmark_interval - (now - last_bookmark))
                    store.cond.wait(max(0.01, min(wait, 1.0)))
                if at is not None:
                    for erv, _gk, kind, obj, prev in events:
                        now_visible, was_visible = visible(obj), visible(prev)
                        if kind == "DELETED":
                            if was_visible:
                                out.append(encode("DELETED", obj))
                        elif now_visible and (kind == "ADDED" or was_visible):
                            out.append(encode(kind, obj))
                        elif now_visible:
                            out.append(encode("ADDED", obj))
                        elif was_visible:
                            out.append(encode("DELETED", obj))
                        at = erv
                    if bookmarks and time.monotonic() - last_bookmark >= api.bookmark_interval:
                        at = max(at, store.rv)
                        out.append(bookmark(at))
                        last_bookmark = time.monotonic()
            if not self.write_chunks(out):
                return None
            if at is None or time.monotonic() >= deadline:
                return self.end_chunks()

    def write_chunks(self, lines):
        """One event per chunk, a large one split at 4 KiB as Go's buffered response writer does: a
        client must reassemble events from the byte stream, not from chunk boundaries."""
        try:
            for line in lines:
                for start in range(0, len(line), 4096):
                    piece = line[start:start + 4096]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            return True
        except (OSError, ssl.SSLError):
            return False

    def end_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            pass


class ControlHandler(http.server.BaseHTTPRequestHandler):
    """Plain HTTP on loopback for tests: POST /compact, /expire, /stop, /start; GET /state."""

    def log_message(self, fmt, *args):
        pass

    def reply(self, body, code=200):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def state(self):
        api = self.server.api
        return {"resourceVersion": api.store.rv, "compacted": api.store.compacted, "serving": api.server is not None,
                "port": api.port}

    def do_GET(self):
        if self.path == "/state":
            return self.reply(self.state())
        return self.reply({"error": "not found"}, 404)

    def do_POST(self):
        api = self.server.api
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/compact":
            api.store.compact()
        elif self.path == "/stop":
            api.stop()
        elif self.path == "/start":
            api.start()
        elif self.path == "/expire":
            api.expire()
        else:
            return self.reply({"error": "not found"}, 404)
        return self.reply(self.state())


def load_objects(api, path):
    """Creates the objects of a YAML or JSON file (several documents, or a List), as kubectl create."""
    import yaml

    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    expanded = []
    for doc in documents:
        expanded += doc.get("items", []) if doc.get("kind", "").endswith("List") and "items" in doc else [doc]
    for doc in expanded:
        group, _, version = doc["apiVersion"].rpartition("/")
        res = next((r for r in api.store.resources.values()
                    if r.group == group and r.version == version and r.kind == doc["kind"]), None)
        if res is None:
            raise SystemExit(f"fakeapi: {path}: no resource for {doc['apiVersion']} {doc['kind']}")
        api.store.create(res, doc.get("metadata", {}).get("namespace"), doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True, help="where the CA, token, kubeconfig and server.json are written")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see server.json)")
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--token", help="bearer token (default: random)")
    parser.add_argument("--san", action="append", default=[], help="extra subjectAltName (DNS name or IP:addr)")
    parser.add_argument("--kubeconfig", help="also write the kubeconfig here")
    parser.add_argument("--bookmark-interval", type=float, default=60.0,
                        help="seconds between BOOKMARK events on watches that allow them (real server: ~60)")
    parser.add_argument("--compact-interval", type=float, default=0,
                        help="compact the history every SECONDS, as etcd every 5 minutes (default: only on request)")
    parser.add_argument("--load", action="append", default=[], help="YAML/JSON objects created at start")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    for name in ("server.json", "kubeconfig"):
        try:
            os.unlink(os.path.join(args.dir, name))
        except FileNotFoundError:
            pass
    api = FakeAPI(args)
    api.make_certificates()
    for path in args.load:
        load_objects(api, path)
    api.start()

    class Control(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    control = Control(("127.0.0.1", args.control_port), ControlHandler)
    control.api = api
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=api.store.compact).start())
    signal.signal(signal.SIGUSR2, lambda *_: threading.Thread(target=api.start if api.server is None
                                                              else api.stop).start())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.compact_interval > 0:
        def compact_periodically():
            while True:
                time.sleep(args.compact_interval)  # the period itself, not a synchronisation
                api.store.compact()

        threading.Thread(target=compact_periodically, daemon=True).start()
    api.write_files(control.server_address[1])
    print(f"fakeapi: serving https://{args.address}:{api.port}, control on 127.0.0.1:{control.server_address[1]}",
          flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
