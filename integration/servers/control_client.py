"""Sends one control request ({"op": OP}) to the agent's socket and prints the answer's `ok` and
message, or `error: ...` when the connection itself fails (permission, refused).

usage: control_client.py SOCKET [OP]
"""
import json
import socket
import sys

path, op = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "status")
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    try:
        s.sendall(json.dumps({"op": op}).encode())
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # a refusing agent may already have closed its side: its answer is still readable
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError as e:
    print(f"error: {e.strerror or e}")
    sys.exit(0)
answer = json.loads(data)
print(f"ok={str(answer['ok']).lower()} {answer['message'][:200]}")
