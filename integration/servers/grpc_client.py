#!/usr/bin/env python3
"""gRPC test client for the `grpc` sandbox server (integration scenarios).

Usage: grpc_client.py HOST:PORT CALL [ARG]
  check [SERVICE]   grpc.health.v1.Health/Check   -> "OK SERVING"
  watch [SERVICE]   grpc.health.v1.Health/Watch, first answer -> "OK SERVING"
  echo TEXT         sluice.test.Tester/Echo        -> "OK <answer>"
  count N           sluice.test.Tester/Count       -> "OK <messages> <last message>"
  chat N            sluice.test.Tester/Chat (bidi), one message out, its answer back, N times,
                    each 4 KiB -> "OK <answers> <last answer's first 12 bytes>"
A failed call prints "ERROR <StatusCode name> <details>" and exits 2.
"""
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def identity(b):
    return b


def main():
    target, call = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    channel = grpc.insecure_channel(target)
    try:
        if call == "check":
            r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=arg), timeout=10)
            print("OK", health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
        elif call == "watch":
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=arg), timeout=10)
            r = next(stream)
            print("OK", health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
            stream.cancel()
        elif call == "echo":
            fn = channel.unary_unary("/sluice.test.Tester/Echo", request_serializer=identity,
                                     response_deserializer=identity)
            print("OK", fn(arg.encode(), timeout=10).decode())
        elif call == "count":
            fn = channel.unary_stream("/sluice.test.Tester/Count", request_serializer=identity,
                                      response_deserializer=identity)
            n, last = 0, b""
            for message in fn(arg.encode(), timeout=60):
                n += 1
                last = message
            print("OK", n, last.decode().strip())
        elif call == "chat":
            import queue
            import threading
            fn = channel.stream_stream("/sluice.test.Tester/Chat", request_serializer=identity,
                                       response_deserializer=identity)
            n = int(arg)
            outbox = queue.Queue()

            def requests():
                for i in range(n):
                    yield str(i).encode().ljust(4096, b".")
                    outbox.get(timeout=10)  # lock-step: the next only after its answer came back

            got, last = 0, b""
            for answer in fn(requests(), timeout=120):
                got += 1
                last = answer
                outbox.put(None)
            print("OK", got, last[:12].decode())
        else:
            print("unknown call", call)
            return 1
    except grpc.RpcError as e:
        print("ERROR", e.code().name, e.details())
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
