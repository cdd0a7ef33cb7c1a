#!/usr/bin/env python3
"""Raw-socket HTTP/1.1 clients for the timeout and upgrade scenarios (run inside a pod).

  trickle HOST PORT PATH INTERVAL MAX   request line, then one header line every INTERVAL s
                                        (a slowloris) until the peer answers or closes, or MAX s;
                                        prints the answer's first line (or "no answer") and the
                                        number of header lines sent
  idle HOST PORT PATH MAX               one keep-alive GET, read its answer, then wait up to MAX s
                                        for the proxy to close; prints "STATUS then closed" or
                                        "STATUS still open"
  ws HOST PORT PATH MAX                 WebSocket handshake, one masked text frame, read the echo,
                                        then wait up to MAX s for the close; prints "STATUS
                                        echo=TEXT closed|open"
  raw HOST PORT PATH UPGRADE|-          GET with `Upgrade: UPGRADE` + `Connection: Upgrade` (none
                                        for -), reads until close (10 s at most); prints the first
                                        line and "sneaky" when the upstream's bytes after its
                                        101 got through (reads the answer, then 1 s more)
"""
import base64
import os
import socket
import sys
import time


def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def first_line(data):
    return data.split(b"\r\n", 1)[0].decode("latin-1") if data else "no answer"


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest[length:]


def wait_closed(s, limit):
    s.settimeout(limit)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return "closed"
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed"


def trickle(host, port, path, interval, limit):
    s = connect(host, port)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n" % (path.encode(), host.encode()))
    s.settimeout(float(interval))
    sent, start, data = 0, time.monotonic(), b""
    while time.monotonic() - start < float(limit):
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n" in data:
                break
        except socket.timeout:
            try:
                s.sendall(b"X-Trickle-%d: x\r\n" % sent)
                sent += 1
            except OSError:
                break
        except ConnectionResetError:
            break
    print("%s; %d header lines trickled" % (first_line(data), sent))


def idle(host, port, path, limit):
    s = connect(host, port)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), host.encode()))
    head, _ = read_response(s)
    print("%s then %s" % (first_line(head).split(" ")[1], "closed" if wait_closed(s, float(limit)) == "closed" else "still open"))


def ws(host, port, path, limit):
    s = connect(host, port)
    key = base64.b64encode(os.urandom(16))
    s.sendall(
        b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), host.encode(), key))
    head, rest = read_response(s)
    status = first_line(head).split(" ")[1] if head else "none"
    text = b"hello sluice"
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text)))
    data = rest
    s.settimeout(10)
    while len(data) < 2 + len(text):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    echo = data[2:2 + len(text)].decode("latin-1") if len(data) >= 2 else ""
    print("%s echo=%s %s" % (status, echo, wait_closed(s, float(limit))))


def raw(host, port, path, upgrade):
    s = connect(host, port)
    extra = b"" if upgrade == "-" else b"Upgrade: %s\r\nConnection: Upgrade\r\n" % upgrade.encode()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path.encode(), host.encode(), extra))
    head, data = read_response(s)
    # Anything after the answer (the upstream's bytes after a 101 would be here): 1 s more.
    s.settimeout(1)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    print(first_line(head) + (" sneaky" if b"sneaky" in head + data else ""))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    {"trickle": trickle, "idle": idle, "ws": ws, "raw": raw}[command](*args)


if __name__ == "__main__":
    main()
