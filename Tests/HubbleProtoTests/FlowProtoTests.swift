import Flows
import XCTest

@testable import HubbleProto

final class FlowProtoTests: XCTestCase {
    static func richFlow() -> Flow {
        var f = Flow(
            time: Flow.Timestamp(seconds: 1_700_000_000, nanos: 5), verdict: .dropped, dropReason: 133,
            ip: Flow.IP(source: "10.244.1.11", destination: "10.244.1.12", ipVersion: .ipv4),
            l4: .tcp(Flow.TCP(sourcePort: 40000, destinationPort: 80, flags: [.syn, .ack])),
            source: FlowEndpoint(
                id: 2, identity: 1000, namespace: "default", labels: ["k8s:app=client"], podName: "client"),
            destination: FlowEndpoint(id: 3, identity: 1001, namespace: "backend", podName: "api"), type: .l7,
            nodeName: "node-a",
            l7: Flow.Layer7(
                type: .request, latencyNs: 9,
                record: .http(
                    Flow.HTTP(
                        code: 403, method: "GET", url: "http://api/x", protocol: "HTTP/1.1",
                        headers: [Flow.HTTP.Header(key: "a", value: "b")]))),
            eventType: Flow.EventType(type: 129), trafficDirection: .egress, isReply: false)
        f.uuid = "u"
        f.emitter = .sluice
        f.destinationNames = ["api.example"]
        f.traceObservationPoint = .toProxy
        f.egressDeniedBy = [Flow.Policy(name: "p", namespace: "default", kind: "CiliumNetworkPolicy")]
        var headers = Flow.L7Verdict(reason: .noRuleMatched).headers
        f.l7Verdict = Flow.L7Verdict.take(from: &headers)
        return f
    }

    func testEveryFieldSluiceFillsRoundTrips() throws {
        for f in [Self.richFlow(), Flow()] {
            XCTAssertEqual(try FlowProto.decode(FlowProto.encode(f)[...]), f)
        }
        var dns = Flow(l4: .udp(Flow.Ports(sourcePort: 5353, destinationPort: 53)))
        dns.l7 = Flow.Layer7(
            type: .response, record: .dns(Flow.DNS(query: "a.b.", ips: ["1.2.3.4"], ttl: 30, rcode: 3)))
        XCTAssertEqual(try FlowProto.decode(FlowProto.encode(dns)[...]), dns)
        let icmp = Flow(l4: .icmpv6(Flow.ICMP(type: 128, code: 0)))
        XCTAssertEqual(try FlowProto.decode(FlowProto.encode(icmp)[...]), icmp)
    }

    func testHubbleFieldNumbers() throws {
        let bytes = FlowProto.encode(Flow(verdict: .forwarded, nodeName: "n"))
        var fields: [Int] = []
        var r = ProtoReader(bytes)
        while let (n, _) = try r.next() { fields.append(n) }
        XCTAssertEqual(fields, [1, 2, 11], "time, verdict, node_name (an empty Summary is left out)")
        var r2 = ProtoReader(FlowProto.encode(Self.richFlow()))
        var numbers: [Int] = []
        while let (n, _) = try r2.next() { numbers.append(n) }
        XCTAssertEqual(numbers, [1, 2, 3, 5, 6, 8, 9, 10, 11, 14, 15, 19, 22, 24, 25, 26, 34, 41, 100_000, 21004])
    }
}

/// The endpoint cache writes the bytes the encoder writes, and encodes an endpoint again when it
/// changed under the same ID and identity.
final class FlowProtoEndpointCacheTests: XCTestCase {
    func testCachedEndpointsAreTheSameBytesAndAChangedEndpointIsEncodedAgain() {
        let cache = FlowProto.EndpointCache()
        var f = FlowProtoTests.richFlow()
        for _ in 0..<3 {
            var w = ProtoWriter()
            FlowProto.encode(f, into: &w, cache: cache)
            XCTAssertEqual(w.bytes, FlowProto.encode(f))
        }
        XCTAssertEqual(cache.encoded, 2, "source and destination, once each")
        f.source?.labels.append("k8s:new=label")
        var w = ProtoWriter()
        FlowProto.encode(f, into: &w, cache: cache)
        XCTAssertEqual(w.bytes, FlowProto.encode(f))
        XCTAssertEqual(cache.encoded, 3)
        XCTAssertEqual(
            GetFlowsResponse.framedFlow(f, cache: cache), GRPCWire.frame(GetFlowsResponse.flow(f)))
        XCTAssertEqual(cache.encoded, 3)
    }
}
