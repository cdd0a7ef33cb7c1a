#!/usr/bin/env python3
"""Peers that stall an HTTP/1 exchange mid-body, for 52_http1_body_timeouts (run inside pods).

  server --listen HOST:PORT     an origin: GET /allowed/stall answers a head announcing 1000
                                bytes, sends 10 and goes silent (until the proxy closes);
                                GET /allowed/big announces 1 GiB and sends until the proxy stops
                                taking it (prints how far it got); GET /allowed/body reads the
                                announced body; anything else: 200 "ok"
  silent HOST PORT MAX          connects, sends nothing, waits up to MAX s for the close; prints
                                "closed after N s" or "still open"
  stall HOST PORT PATH MAX      GET PATH, reads until the close (MAX s at most); prints the
                                status line, the body bytes received and "closed" or "open"
  stopread HOST PORT PATH HOLD  GET PATH with a 4 KiB receive buffer, reads the head, then reads
                                nothing for HOLD s (the behaviour under test: a client that stops
                                reading); then reads on to the end; prints the body bytes
                                received and how the stream ended
  partialbody HOST PORT PATH MAX  GET PATH announcing a 100-byte body, sends 10 bytes of it and
                                nothing more; prints the answer's status line (or "no answer")
"""
import socket
import sys
import threading
import time


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return (lines[0], fields), rest


def serve(conn):
    buf = b""
    try:
        while True:
            parsed, buf = read_head(conn, buf)
            if parsed is None:
                return
            line, fields = parsed
            print(line, flush=True)
            path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
            if path.startswith("/allowed/stall"):
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789")
                while conn.recv(65536):
                    pass
                print("stall: closed by the proxy", flush=True)
                return
            if path.startswith("/allowed/big"):
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n")
                chunk = b"x" * 65536
                sent = 0
                try:
                    while sent < 1 << 30:
                        conn.sendall(chunk)
                        sent += len(chunk)
                except OSError as e:
                    print("big: sent %d bytes, then %s" % (sent, e.__class__.__name__), flush=True)
                return
            length = int(fields.get("content-length", "0") or 0)
            while len(buf) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    print("body: closed after %d of %d bytes" % (len(buf), length), flush=True)
                    return
                buf += chunk
            buf = buf[length:]
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
    except OSError:
        pass
    finally:
        conn.close()


def server(listen):
    host, port = listen.rsplit(":", 1)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(128)
    print("listening on %s" % listen, flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def until_close(s, limit):
    """Reads until EOF or reset within `limit` s: (bytes, "closed" | "open")."""
    data = b""
    deadline = time.monotonic() + limit
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return data, "open"
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                return data, "closed"
            data += chunk
    except socket.timeout:
        return data, "open"
    except ConnectionResetError:
        return data, "closed"


def silent(host, port, limit):
    s = socket.create_connection((host, int(port)), timeout=10)
    start = time.monotonic()
    data, end = until_close(s, float(limit))
    if end == "closed":
        print("closed after %d s, %d bytes received" % (round(time.monotonic() - start), len(data)))
    else:
        print("still open")


def request(host, port, path, extra=b"", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, int(port)))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra)
    return s


def stall(host, port, path, limit):
    s = request(host, port, path, b"\r\n")
    data, end = until_close(s, float(limit))
    head, _, body = data.partition(b"\r\n\r\n")
    print("%s; %d body bytes; %s" % (head.split(b"\r\n", 1)[0].decode("latin-1") or "no answer", len(body), end))


def stopread(host, port, path, hold):
    s = request(host, port, path, b"\r\n", rcvbuf=4096)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    time.sleep(float(hold))  # the behaviour under test: a client that stops reading for HOLD s
    rest, end = until_close(s, 10.0)
    total = len(body) + len(rest)
    print("%s; %d body bytes of 1073741824; %s" % (head.split(b"\r\n", 1)[0].decode("latin-1"), total, end))


def partialbody(host, port, path, limit):
    s = request(host, port, path, b"Content-Length: 100\r\n\r\n0123456789")
    data, end = until_close(s, float(limit))
    print("%s; %s" % (data.split(b"\r\n", 1)[0].decode("latin-1") if data else "no answer", end))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "server":
        server(args[1] if args[0] == "--listen" else args[0])
        return
    {"silent": silent, "stall": stall, "stopread": stopread, "partialbody": partialbody}[command](*args)


if __name__ == "__main__":
    main()
