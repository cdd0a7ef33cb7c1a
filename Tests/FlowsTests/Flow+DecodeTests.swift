import CSluiceShared
import XCTest

@testable import Flows

/// `Flow.decode` on hand-filled flow-map records (the bytes the datapath and the proxy write):
/// addresses, ports and flags, endpoints named from the directory, L7 parts with their lengths
/// clamped, the policy a record names, and unknown bytes decoding to "unknown".
final class FlowDecodeTests: XCTestCase {
    private typealias F = FlowFixtures
    private static let policyRef: UInt32 = 77
    private let directory = EndpointDirectory(
        file: .init(
            nodeName: "kind-worker", endpoints: [F.client, F.server], identities: [],
            policies: [.init(ref: policyRef, kind: "CiliumNetworkPolicy", namespace: "default", name: "p")]))

    private func set<T>(_ field: inout T, _ bytes: [UInt8]) {
        withUnsafeMutableBytes(of: &field) { $0.copyBytes(from: bytes) }
    }

    private func decode(_ rec: sluice_flow) -> Flow {
        Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: F.offsetNs)
    }

    /// A client -> server IPv4 record; the endpoint IDs are left 0 so the addresses name them.
    private func ipv4Record() -> sluice_flow {
        var rec = sluice_flow()
        rec.time_ns = F.mono(millis: 250)
        rec.ip_version = 4
        set(&rec.src_ip, [10, 0, 1, 23])
        set(&rec.dst_ip, [10, 0, 2, 45])
        rec.src_port = 40_000
        rec.dst_port = 80
        rec.l4_proto = 6
        rec.dst_identity = 999
        return rec
    }

    func testTraceRecordOfTwoLocalEndpointsNamedByAddress() {
        var rec = ipv4Record()
        rec.tcp_flags = 0x12
        rec.verdict = 1
        rec.flow_type = 1
        rec.event_type = 4
        rec.trace_point = 3
        rec.direction = 1
        rec.is_reply = 2
        let flow = decode(rec)
        XCTAssertEqual(flow.time, Flow.Timestamp(seconds: F.baseSeconds, nanos: 250_000_000))
        XCTAssertEqual(flow.nodeName, "kind-worker")
        XCTAssertEqual(flow.verdict, .forwarded)
        XCTAssertEqual(flow.type, .l3L4)
        XCTAssertEqual(flow.eventType, Flow.EventType(type: 4, subType: 3))
        XCTAssertNotNil(flow.traceObservationPoint)
        XCTAssertEqual(flow.trafficDirection, .ingress)
        XCTAssertEqual(flow.isReply, true)
        XCTAssertEqual(flow.ip, Flow.IP(source: "10.0.1.23", destination: "10.0.2.45", ipVersion: .ipv4))
        XCTAssertEqual(flow.l4, .tcp(.init(sourcePort: 40_000, destinationPort: 80, flags: [.syn, .ack])))
        XCTAssertEqual(
            flow.source,
            FlowEndpoint(
                id: 1203, identity: 11231, namespace: "default", labels: F.client.labels, podName: "client-7d9f"))
        XCTAssertEqual(flow.destination?.id, 877)
        XCTAssertEqual(flow.destination?.identity, 999, "the record's identity wins over the endpoint's")
        XCTAssertNil(flow.l7)
        XCTAssertNil(flow.l7Verdict)
    }

    func testUnknownBytesDecodeToUnknownAndRemotePeersTakeTheirIdentityLabels() {
        var rec = sluice_flow()
        rec.verdict = 200
        rec.flow_type = 9
        rec.ip_version = 5
        rec.l4_proto = 1
        rec.is_reply = 7
        rec.src_endpoint = 4242
        rec.src_identity = 2
        let flow = decode(rec)
        XCTAssertEqual(flow.verdict, .unknown)
        XCTAssertEqual(flow.type, .unknown)
        XCTAssertNil(flow.ip)
        XCTAssertNil(flow.l4, "ICMP needs IP version 4")
        XCTAssertNil(flow.isReply)
        XCTAssertEqual(flow.source, FlowEndpoint(id: 4242, identity: 2, labels: ["reserved:world"]))
    }

    func testIPv6AndICMPv6() {
        var rec = sluice_flow()
        rec.ip_version = 6
        set(&rec.src_ip, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        set(&rec.dst_ip, [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [2])
        rec.l4_proto = 58
        rec.icmp_type = 128
        rec.icmp_code = 0
        let flow = decode(rec)
        XCTAssertEqual(flow.ip, Flow.IP(source: "2001:db8::1", destination: "fe80::2", ipVersion: .ipv6))
        XCTAssertEqual(flow.l4, .icmpv6(.init(type: 128)))
        XCTAssertEqual(flow.sourceNames, [])
    }

    func testHTTPRequestClampsLengthsDropsFlagsAndNamesItsPolicy() {
        var rec = ipv4Record()
        rec.tcp_flags = 0x02
        rec.verdict = 1
        rec.flow_type = 2
        rec.event_type = 129
        rec.direction = 2
        rec.l7_type = 1
        rec.l7_proto = 2
        set(&rec.l7.http.method, Array("GET".utf8))
        rec.l7.http.method_len = 3
        set(&rec.l7.http.url, [UInt8](repeating: UInt8(ascii: "a"), count: 384))
        rec.l7.http.url_len = 60_000
        rec.l7.http.policy_id = Self.policyRef
        rec.l7.http.reason = 1
        rec.l7.http.header_actions = 0x01
        let flow = decode(rec)
        XCTAssertEqual(flow.l4, .tcp(.init(sourcePort: 40_000, destinationPort: 80, flags: nil)))
        let http = flow.l7?.http
        XCTAssertEqual(http?.method, "GET")
        XCTAssertEqual(http?.url.utf8.count, 384, "url_len is clamped to the array")
        XCTAssertEqual(http?.protocol, "HTTP/1.1")
        XCTAssertNil(http?.connectionError)
        XCTAssertEqual(
            flow.egressAllowedBy, [Flow.Policy(name: "p", namespace: "default", kind: "CiliumNetworkPolicy")])
        XCTAssertEqual(flow.ingressDeniedBy, [])
        XCTAssertEqual(flow.l7Verdict?.reason, .ruleMatched)
        XCTAssertEqual(flow.l7Verdict?.headerActions.rawValue, 0x01)

        rec.l7.http.policy_id = 78
        XCTAssertEqual(decode(rec).egressAllowedBy, [], "a policy the directory does not know names nothing")
        rec.l7_type = 2
        rec.l7.http.policy_id = Self.policyRef
        XCTAssertEqual(decode(rec).egressAllowedBy, [], "responses name no policy")
        XCTAssertNil(decode(rec).l7Verdict)
    }

    func testDNSResponseWithMixedAnswersClampedToTheArray() {
        var rec = ipv4Record()
        rec.l4_proto = 17
        rec.flow_type = 2
        rec.l7_type = 2
        rec.l7_proto = 4
        rec.l7.dns.qtype = 28
        set(&rec.l7.dns.query, Array("example.com.".utf8))
        rec.l7.dns.query_len = 12
        rec.l7.dns.rcode = 3
        rec.l7.dns.ttl = 30
        rec.l7.dns.n_ips = 250
        rec.l7.dns.ip_versions = 0b10
        rec.l7.dns.rrtypes_mask = 0b101
        rec.l7.dns.error_side = 2
        rec.l7.dns.error_errno = 111
        withUnsafeMutableBytes(of: &rec.l7.dns.ips) { ips in
            for slot in 0..<8 { ips[slot * 16] = 192 }
            ips.storeBytes(of: 0x0100_0000, toByteOffset: 0, as: UInt32.self)
            ips[16] = 0x20
            ips[17] = 0x01
            ips[31] = 5
        }
        let dns = decode(rec).l7?.dns
        XCTAssertEqual(dns?.query, "example.com.")
        XCTAssertEqual(dns?.qtypes, ["AAAA"])
        XCTAssertEqual(dns?.rcode, 3)
        XCTAssertEqual(dns?.ttl, 30)
        XCTAssertEqual(dns?.rrtypes, ["A", "CNAME"])
        XCTAssertEqual(dns?.ips.count, 8, "n_ips is clamped to SLUICE_DNS_IPS_MAX")
        XCTAssertEqual(dns?.ips.prefix(3), ["0.0.0.1", "2001::5", "192.0.0.0"])
        XCTAssertEqual(dns?.connectionError?.side, .upstream)
        XCTAssertEqual(dns?.connectionError?.errno, 111)

        rec.l7_type = 1
        let request = decode(rec).l7?.dns
        XCTAssertEqual(request?.ips, [], "answers are read from responses only")
        XCTAssertNil(request?.connectionError)
    }

    func testExplicitDenyDropNamesTheDenyingPolicy() {
        var rec = ipv4Record()
        rec.verdict = 2
        rec.flow_type = 1
        rec.event_type = 1
        rec.drop_reason = 181
        rec.direction = 1
        rec.policy_ref = Self.policyRef
        let flow = decode(rec)
        XCTAssertEqual(flow.eventType, Flow.EventType(type: 1, subType: 181))
        XCTAssertEqual(flow.dropReason, 181)
        XCTAssertEqual(flow.ingressDeniedBy.map(\.name), ["p"])
        XCTAssertEqual(flow.egressDeniedBy, [])
        rec.event_type = 5
        rec.verdict = 1
        rec.policy_match = 2
        let verdict = decode(rec)
        XCTAssertEqual(verdict.policyMatchType, 2)
        XCTAssertEqual(verdict.ingressAllowedBy.map(\.name), ["p"])
    }
}
