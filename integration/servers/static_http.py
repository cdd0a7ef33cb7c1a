#!/usr/bin/env python3
"""Sandbox server kind `http-static`: a tiny threaded HTTP/1.1 server.

Answers every method and path with 200 and a short text body naming the pod
(``--name``), so a client can tell which pod it reached. Keep-alive works:
responses carry Content-Length and the connection stays open unless the client
asks to close it. Request bodies are read (by Content-Length) and discarded.

Usage: static_http.py --name NS/POD --listen HOST:PORT [--listen HOST:PORT ...]
"""
import argparse
import http.server
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sluice-static/1"
    pod_name = "unknown"

    def _answer(self, with_body=True):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        body = ("%s %s from %s\n" % (self.command, self.path, self.pod_name)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Sluice-Pod", self.pod_name)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self):
        self._answer(with_body=False)

    def __getattr__(self, name):
        # Any other method (GET, POST, PUT, DELETE, PATCH, OPTIONS, ...) gets the same answer.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind resolves its own name with socket.getfqdn(), a reverse DNS
        # query that can stall for seconds inside a sandbox namespace; the name is unused here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


def split_listen(value):
    host, _, port = value.rpartition(":")
    return (host or "0.0.0.0", int(port))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="unknown")
    parser.add_argument("--listen", action="append", required=True)
    args = parser.parse_args()
    Handler.pod_name = args.name
    servers = [Server(split_listen(item), Handler) for item in args.listen]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stderr.write("http-static %s listening on %s\n" % (args.name, ", ".join(args.listen)))
    sys.stderr.flush()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
