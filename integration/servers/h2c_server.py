#!/usr/bin/env python3
"""Sandbox server kind `h2c`: an HTTP/2 cleartext server (prior knowledge) on Python h2.

Answers every method and path with 200 and a JSON body describing the request (method,
path, authority, host header, pod, bytes of request body received and the DATA frames that
carried them), so a client can tell what arrived.
`/bytes/N` answers N bytes of body instead (sent as flow control allows), for large-body
tests. Request bodies are read and counted, with flow-control credit returned as they are
consumed. Many streams per connection, many connections.

With --cert and --key it is the sandbox kind `h2-tls` instead: HTTP/2 over TLS, ALPN `h2` only.

Usage: h2c_server.py --name NS/POD --listen HOST:PORT [--listen HOST:PORT ...] [--cert PEM --key PEM]
"""
import argparse
import asyncio
import json
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions


class Connection:
    def __init__(self, reader, writer, pod):
        self.reader, self.writer, self.pod = reader, writer, pod
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.requests = {}   # stream -> (headers, body bytes received)
        self.pending = {}    # stream -> remaining body to send (bytes)
        self.window_open = asyncio.Event()

    async def run(self):
        self.conn.initiate_connection()
        await self.flush()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    sys.stderr.write("protocol error: %s\n" % e)
                    await self.flush()
                    break
                for event in events:
                    self.handle(event)
                self.send_pending()
                await self.flush()
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            self.writer.close()

    def handle(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.requests[event.stream_id] = [dict(event.headers), 0, 0]
            if event.stream_ended:
                self.answer(event.stream_id)
        elif isinstance(event, h2.events.DataReceived):
            if event.stream_id in self.requests:
                self.requests[event.stream_id][1] += len(event.data)
                self.requests[event.stream_id][2] += 1 if event.data else 0
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            if event.stream_id in self.requests:
                self.answer(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self.requests.pop(event.stream_id, None)
            self.pending.pop(event.stream_id, None)

    def answer(self, stream):
        headers, received, frames = self.requests.pop(stream)
        path = headers.get(":path", "/")
        if path.startswith("/bytes/"):
            try:
                n = int(path[len("/bytes/"):].split("?")[0])
            except ValueError:
                n = 0
            body = b"x" * n
            ctype = "application/octet-stream"
        else:
            body = (json.dumps({"method": headers.get(":method"), "path": path,
                                "authority": headers.get(":authority"), "host": headers.get("host"),
                                "pod": self.pod, "received": received, "data_frames": frames}) + "\n").encode()
            ctype = "application/json"
        self.conn.send_headers(stream, [(":status", "200"), ("content-type", ctype),
                                        ("content-length", str(len(body))), ("x-sluice-pod", self.pod)])
        self.pending[stream] = body

    def send_pending(self):
        for stream in list(self.pending):
            body = self.pending[stream]
            while body:
                try:
                    window = self.conn.local_flow_control_window(stream)
                except (KeyError, h2.exceptions.StreamClosedError):
                    body = b""
                    break
                n = min(window, self.conn.max_outbound_frame_size, len(body))
                if n <= 0:
                    break
                self.conn.send_data(stream, body[:n])
                body = body[n:]
            if body:
                self.pending[stream] = body
            else:
                del self.pending[stream]
                try:
                    self.conn.end_stream(stream)
                except h2.exceptions.StreamClosedError:
                    pass

    async def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()


def split_listen(value):
    host, _, port = value.rpartition(":")
    return (host or "0.0.0.0", int(port))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="unknown")
    parser.add_argument("--listen", action="append", required=True)
    parser.add_argument("--cert", help="PEM certificate: serve HTTP/2 over TLS (ALPN h2)")
    parser.add_argument("--key", help="PEM private key of --cert")
    args = parser.parse_args()
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        tls.set_alpn_protocols(["h2"])

    async def serve(reader, writer):
        await Connection(reader, writer, args.name).run()

    servers = [await asyncio.start_server(serve, *split_listen(item), ssl=tls) for item in args.listen]
    kind = "h2-tls" if tls else "h2c"
    sys.stderr.write("%s %s listening on %s\n" % (kind, args.name, ", ".join(args.listen)))
    sys.stderr.flush()
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
