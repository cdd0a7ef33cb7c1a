#!/usr/bin/env python3
"""Sandbox server kind `grpc`: a real grpcio server (HTTP/2 cleartext).

Services:
- `grpc.health.v1.Health` (grpcio-health-checking): Check and Watch; the overall status ("")
  and "sluice.test.Tester" are SERVING.
- `sluice.test.Tester`, messages are raw bytes (no protobuf schema needed on either side):
  - `Echo` (unary): answers the request bytes prefixed with the pod name and ": ".
  - `Count` (server-streaming): the request is a decimal N; answers N messages, message i
    being the decimal i padded to 16 bytes.
  - `Chat` (bidirectional): answers each message as it arrives, prefixed with "re:".

With --cert and --key it is the sandbox kind `grpc-tls` instead: the same services over TLS.

Usage: grpc_server.py --name NS/POD --listen HOST:PORT [--listen HOST:PORT ...] [--cert PEM --key PEM]
"""
import argparse
import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def identity(b):
    return b


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="unknown")
    parser.add_argument("--listen", action="append", required=True)
    parser.add_argument("--cert", help="PEM certificate: serve over TLS")
    parser.add_argument("--key", help="PEM private key of --cert")
    args = parser.parse_args()
    credentials = None
    if args.cert:
        with open(args.key, "rb") as key, open(args.cert, "rb") as cert:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])

    def echo(request, context):
        return args.name.encode() + b": " + request

    def count(request, context):
        n = int(request.decode() or "0")
        for i in range(n):
            yield str(i).rjust(16).encode()

    def chat(requests, context):
        for message in requests:
            yield b"re:" + message

    tester = grpc.method_handlers_generic_handler("sluice.test.Tester", {
        "Chat": grpc.stream_stream_rpc_method_handler(chat, request_deserializer=identity,
                                                      response_serializer=identity),
        "Echo": grpc.unary_unary_rpc_method_handler(echo, request_deserializer=identity,
                                                    response_serializer=identity),
        "Count": grpc.unary_stream_rpc_method_handler(count, request_deserializer=identity,
                                                      response_serializer=identity),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((tester,))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("sluice.test.Tester", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for item in args.listen:
        host, _, port = item.rpartition(":")
        address = "%s:%s" % (host or "0.0.0.0", port)
        if credentials:
            server.add_secure_port(address, credentials)
        else:
            server.add_insecure_port(address)
    server.start()
    kind = "grpc-tls" if credentials else "grpc"
    sys.stderr.write("%s %s listening on %s\n" % (kind, args.name, ", ".join(args.listen)))
    sys.stderr.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
