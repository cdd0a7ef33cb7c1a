#!/usr/bin/env python3
"""The upstream of bench/bulk.sh: a keep-alive HTTP/1.1 server whose bodies cost it little, so
the proxy in front is what the bench measures.

  GET /bulk/<name>  the file <root>/bulk/<name> with os.sendfile (from the page cache, no copy
                    through this process); Content-Length framing
  GET /chunked/<name>  the same file, chunked (1 MiB chunks, each chunk's data by sendfile)
  POST /upload      reads the whole body (Content-Length or chunked) into one preallocated buffer,
                    then answers 200 "ok" (a server that answers before the body ends would cut
                    the upload short in a proxy that closes then)
  anything else     200 with a small fixed body (the main bench's rule checks)

One thread per connection; a malformed request closes the connection.

    python3 bench/bulk_upstream.py ADDRESS PORT ROOT
"""
import os
import socket
import sys
import threading

FIXED = b'{"note":"fixed body from the bulk bench upstream"}\n'
CHUNK = 1 << 20


def read_head(conn, pending):
    while b"\r\n\r\n" not in pending:
        data = conn.recv(65536)
        if not data:
            return None, b""
        pending += data
        if len(pending) > 65536:
            return None, b""
    head, _, rest = pending.partition(b"\r\n\r\n")
    return head, rest


def discard(conn, n, pending, sink):
    """Reads and drops n body bytes (pending first); returns the bytes read past them."""
    take = min(n, len(pending))
    n -= take
    pending = pending[take:]
    while n > 0:
        got = conn.recv_into(sink, min(n, len(sink)))
        if got == 0:
            raise ConnectionError("eof in body")
        n -= got
    return pending


def read_line(conn, pending):
    while b"\r\n" not in pending:
        data = conn.recv(4096)
        if not data:
            raise ConnectionError("eof in chunked body")
        pending += data
    line, _, rest = pending.partition(b"\r\n")
    return line, rest


def discard_chunked(conn, pending, sink):
    while True:
        line, pending = read_line(conn, pending)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the empty line
                line, pending = read_line(conn, pending)
                if not line:
                    return pending
        pending = discard(conn, size + 2, pending, sink)


def send_file(conn, path, chunked):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not chunked:
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: %d\r\n\r\n" % size)
            offset = 0
            while offset < size:
                offset += os.sendfile(conn.fileno(), f.fileno(), offset, size - offset)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        offset = 0
        while offset < size:
            n = min(CHUNK, size - offset)
            conn.sendall(b"%x\r\n" % n)
            end = offset + n
            while offset < end:
                offset += os.sendfile(conn.fileno(), f.fileno(), offset, end - offset)
            conn.sendall(b"\r\n")
        conn.sendall(b"0\r\n\r\n")


def serve(conn, root):
    sink = bytearray(CHUNK)
    pending = b""
    try:
        while True:
            head, pending = read_head(conn, pending)
            if head is None:
                return
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            fields = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                fields[name.strip().lower()] = value.strip()
            if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
                pending = discard_chunked(conn, pending, sink)
            else:
                pending = discard(conn, int(fields.get(b"content-length", b"0")), pending, sink)
            path = target.split(b"?")[0].decode()
            if method == b"GET" and (path.startswith("/bulk/") or path.startswith("/chunked/")):
                name = os.path.basename(path)
                full = os.path.join(root, "bulk", name)
                if name and os.path.isfile(full):
                    send_file(conn, full, path.startswith("/chunked/"))
                    continue
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                continue
            body = b"ok\n" if path == "/upload" else FIXED
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    except (ConnectionError, ValueError, OSError):
        pass
    finally:
        conn.close()


def main():
    address, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1024)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn, root), daemon=True).start()


if __name__ == "__main__":
    main()
