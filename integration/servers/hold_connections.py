"""Opens N keep-alive HTTP/1.1 connections to HOST:PORT, sends `GET PATH` on each, and holds them.

Prints `answered K` once no more answers came within WAIT seconds (K connections got a
status line; the others wait in the proxy's accept queue or were refused), then waits until the
file RELEASE exists, closes the answered connections, waits up to WAIT seconds more for the
others, prints `after M` (M of the rest got an answer) and the status codes seen, and exits.

usage: hold_connections.py HOST PORT PATH N WAIT RELEASE
"""
import select
import socket
import sys
import time

host, port, path, n, wait, release = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
conns = []
for _ in range(n):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(request)
    s.setblocking(False)
    conns.append(s)

codes = {}


def collect(pending, seconds):
    """Reads status lines from `pending` until none came for `seconds`; returns the answered."""
    answered = set()
    deadline = time.time() + seconds
    while pending - answered and time.time() < deadline:
        ready, _, _ = select.select(list(pending - answered), [], [], 0.2)
        for s in ready:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            answered.add(s)
            code = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed"
            codes[code] = codes.get(code, 0) + 1
            deadline = time.time() + seconds
    return answered


first = collect(set(conns), wait)
print(f"answered {len(first)}", flush=True)
while not __import__("os").path.exists(release):
    time.sleep(0.05)  # waiting for the scenario's go-ahead (a file), not for a state
for s in first:
    s.close()
rest = set(conns) - first
later = collect(rest, wait)
print(f"after {len(later)}", flush=True)
print("codes " + " ".join(f"{k}:{v}" for k, v in sorted(codes.items())), flush=True)
for s in rest:
    s.close()
