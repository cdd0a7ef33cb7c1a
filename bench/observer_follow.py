"""One `follow` client of the Observer gRPC API for bench/observer.sh: GetFlows{follow: true},
responses taken as raw bytes (no protobuf decoding, so the client's own CPU stays small), counted.
Usage: observer_follow.py ADDRESS OUTFILE; on SIGTERM writes "responses=N bytes=B" to OUTFILE."""
import signal
import sys
import threading

import grpc

address, outfile = sys.argv[1], sys.argv[2]
counts = {"responses": 0, "bytes": 0}
done = threading.Event()


def stop(*_):
    with open(outfile, "w") as f:
        f.write("responses=%d bytes=%d\n" % (counts["responses"], counts["bytes"]))
        f.flush()
    sys.stdout.flush()
    done.set()
    raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)
channel = grpc.insecure_channel(address)
get_flows = channel.unary_stream(
    "/observer.Observer/GetFlows", request_serializer=None, response_deserializer=None)
# GetFlowsRequest: follow (field 3, bool) = true
with open(outfile, "w") as f:
    f.write("responses=0 bytes=0 started\n")
for message in get_flows(b"\x18\x01"):
    counts["responses"] += 1
    counts["bytes"] += len(message)
    if counts["responses"] == 1:
        open(outfile + ".first", "w").close()
