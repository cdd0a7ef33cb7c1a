#!/usr/bin/env python3
"""Peers for 53_bulk_splice (run inside pods): bodies taken from one file both sides can read, so
a client can check what arrived with sha256 of the file's prefix.

  server --listen HOST:PORT --blob FILE
      GET /allowed/cl/N        N bytes of FILE with Content-Length (sendfile)
      GET /allowed/chunked/N   the same bytes chunked (chunks of 100,000 bytes and the rest)
      GET /allowed/trunc/N     announces N bytes, sends N/2, closes ("trunc: closed after ...")
      GET /allowed/stream/N    like cl, logging "stream: done N" once all N bytes were taken
      POST /allowed/upload     reads the body (Content-Length or chunked), answers 200 with
                               "<bytes> <sha256>" of the body
      anything else            200 "ok"
  stopread HOST PORT PATH HOLD AGENT_PID SERVER_LOG
      GET PATH on a socket with a 4 KiB receive buffer, reads the head and 64 KiB, then reads
      nothing for HOLD s, then reads to the end; prints "rss_kb_before A rss_kb_held B
      server_done_in_hold yes|no body_bytes N sha256 H" (RSS of the agent at the start of the
      hold and at its end; whether SERVER_LOG said "stream: done" by the end of the hold, i.e.
      whether the origin could send everything while the client read nothing)
"""
import hashlib
import os
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


def recv_exact(conn, buf, n, digest):
    """Feeds n body bytes (buf first) to digest; returns the bytes after them."""
    take = buf[:n]
    digest.update(take)
    n -= len(take)
    buf = buf[len(take):]
    while n > 0:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            raise ConnectionError("eof in body")
        digest.update(chunk)
        n -= len(chunk)
    return buf


def recv_line(conn, buf):
    while b"\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("eof in chunked body")
        buf += chunk
    line, rest = buf.split(b"\r\n", 1)
    return line, rest


def read_body(conn, fields, buf):
    digest = hashlib.sha256()
    total = 0
    if fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            line, buf = recv_line(conn, buf)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while True:
                    line, buf = recv_line(conn, buf)
                    if not line:
                        return total, digest.hexdigest(), buf
            buf = recv_exact(conn, buf, size, digest)
            total += size
            crlf = hashlib.sha256()
            buf = recv_exact(conn, buf, 2, crlf)
    n = int(fields.get("content-length", "0"))
    buf = recv_exact(conn, buf, n, digest)
    return n, digest.hexdigest(), buf


def send_file_range(conn, blob, n):
    with open(blob, "rb") as f:
        offset = 0
        while offset < n:
            offset += os.sendfile(conn.fileno(), f.fileno(), offset, n - offset)


def serve(conn, blob):
    buf = b""
    try:
        while True:
            parsed, buf = read_head(conn, buf)
            if parsed is None:
                return
            line, fields = parsed
            print(line, flush=True)
            method, path = line.split(" ")[0], line.split(" ")[1]
            if method == "POST" and path.startswith("/allowed/upload"):
                total, digest, buf = read_body(conn, fields, buf)
                answer = f"{total} {digest}".encode()
                print(f"upload: {total} {digest}", flush=True)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
                continue
            _, body_bytes, buf = read_body(conn, fields, buf)
            parts = path.split("/")
            kind = parts[2] if len(parts) > 3 else ""
            n = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0
            if kind in ("cl", "stream"):
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % n)
                send_file_range(conn, blob, n)
                if kind == "stream":
                    print(f"stream: done {n}", flush=True)
            elif kind == "chunked":
                conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                with open(blob, "rb") as f:
                    data = f.read(n)
                for at in range(0, n, 100000):
                    piece = data[at:at + 100000]
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.sendall(b"0\r\nx-checked: yes\r\n\r\n")
            elif kind == "trunc":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % n)
                send_file_range(conn, blob, n // 2)
                print(f"trunc: closed after {n // 2} of {n}", flush=True)
                return
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    except (ConnectionError, OSError, ValueError) as e:
        print(f"connection ended: {e}", flush=True)
    finally:
        conn.close()


def server(listen, blob):
    host, port = listen.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(64)
    print(f"listening on {listen}", flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, blob), daemon=True).start()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def stopread(host, port, path, hold, agent_pid, server_log):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, int(port)))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    parsed, buf = read_head(s, b"")
    status, fields = parsed
    n = int(fields["content-length"])
    digest = hashlib.sha256()
    got = len(buf)
    digest.update(buf)
    while got < 65536:
        chunk = s.recv(65536)
        digest.update(chunk)
        got += len(chunk)
    before = rss_kb(agent_pid)
    time.sleep(float(hold))
    held = rss_kb(agent_pid)
    with open(server_log) as f:
        done = "yes" if "stream: done" in f.read() else "no"
    while got < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        digest.update(chunk)
        got += len(chunk)
    print(f"rss_kb_before {before} rss_kb_held {held} server_done_in_hold {done} body_bytes {got} "
          f"sha256 {digest.hexdigest()}")


def main():
    if sys.argv[1] == "server":
        server(sys.argv[3], sys.argv[5])
    elif sys.argv[1] == "stopread":
        stopread(*sys.argv[2:8])


if __name__ == "__main__":
    main()
