#!/usr/bin/env python3
"""An HTTP/1.1 upstream for the timeout and upgrade scenarios (integration/scenarios/5x_*.sh).

Raw sockets, one thread per connection, keep-alive. By path:
  /slow/SECONDS     answers 200 after SECONDS (a slow upstream: the proxy's response timeout)
  /ws...            a WebSocket echo (RFC 6455): 101 with Sec-WebSocket-Accept when the request
                    asks for `Upgrade: websocket`, then every client frame is unmasked and sent
                    back as an unmasked frame; 400 when no upgrade was asked
  /unsolicited...   101 Upgrade: websocket although nothing was asked, then "sneaky" bytes
  /upgrade-echo...  101 naming the request's own Upgrade value (h2c too), then "sneaky" bytes
  anything else     200 "ok PATH"
Each request line is printed (flushed) to stdout, the server's log.

Usage: http1_edge_server.py --listen HOST:PORT
"""
import argparse
import base64
import hashlib
import socket
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


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


def answer(conn, status, body):
    conn.sendall(b"HTTP/1.1 %s\r\ncontent-length: %d\r\ncontent-type: text/plain\r\n\r\n%s" % (status, len(body), body))


def recv_exact(conn, buf, n):
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    return buf[:n], buf[n:]


def websocket_echo(conn, buf):
    while True:
        hdr, buf = recv_exact(conn, buf, 2)
        if hdr is None:
            return
        opcode, length = hdr[0] & 0x0F, hdr[1] & 0x7F
        masked = hdr[1] & 0x80
        if length == 126:
            ext, buf = recv_exact(conn, buf, 2)
            length = int.from_bytes(ext, "big")
        elif length == 127:
            ext, buf = recv_exact(conn, buf, 8)
            length = int.from_bytes(ext, "big")
        mask = b"\0\0\0\0"
        if masked:
            mask, buf = recv_exact(conn, buf, 4)
        payload, buf = recv_exact(conn, buf, length)
        if payload is None:
            return
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if opcode == 8:
            conn.sendall(b"\x88\x00")
            return
        out = bytes([0x80 | opcode])
        out += bytes([length]) if length < 126 else bytes([126]) + length.to_bytes(2, "big")
        conn.sendall(out + payload)


def serve(conn):
    buf = b""
    try:
        while True:
            parsed, buf = read_head(conn, buf)
            if parsed is None:
                return
            line, fields = parsed
            print(line, flush=True)
            length = int(fields.get("content-length", "0") or 0)
            _, buf = recv_exact(conn, buf, length) if length else (b"", buf)
            path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
            upgrade = fields.get("upgrade", "")
            if path.startswith("/slow/"):
                time.sleep(float(path[len("/slow/"):]))
                answer(conn, b"200 OK", b"slow ok\n")
            elif path.startswith("/ws"):
                key = fields.get("sec-websocket-key")
                if upgrade.lower() != "websocket" or not key:
                    answer(conn, b"400 Bad Request", b"no upgrade asked\n")
                    continue
                accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
                conn.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                websocket_echo(conn, buf)
                return
            elif path.startswith("/unsolicited") or path.startswith("/upgrade-echo"):
                offered = upgrade if path.startswith("/upgrade-echo") and upgrade else "websocket"
                conn.sendall(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + offered.encode("latin-1")
                    + b"\r\nConnection: Upgrade\r\n\r\nsneaky")
                time.sleep(2)
                return
            else:
                answer(conn, b"200 OK", b"ok " + path.encode("latin-1") + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(128)
    print("listening on %s" % args.listen, flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
