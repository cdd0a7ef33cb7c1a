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

Usage: grpc_server.py --name NS/POD --listen HOST:PORT [--listen HOST:PORT ...]
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
    args = parser.parse_args()

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
        server.add_insecure_port("%s:%s" % (host or "0.0.0.0", port))
    server.start()
    sys.stderr.write("grpc %s listening on %s\n" % (args.name, ", ".join(args.listen)))
    sys.stderr.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
