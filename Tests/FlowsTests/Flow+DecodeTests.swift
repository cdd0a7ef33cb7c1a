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

    /// The event bytes of a record: verdict, flow type, event type and sub-type, direction.
    private struct Event {
        var verdict: UInt8 = 0, flowType: UInt8 = 0, eventType: UInt8 = 0, direction: UInt8 = 0
        var tracePoint: UInt8 = 0, dropReason: UInt8 = 0, isReply: UInt8 = 0, tcpFlags: UInt8 = 0
        var l7Type: UInt8 = 0, l7Proto: UInt8 = 0
    }

    /// A client -> server IPv4 TCP record with `event`; the endpoint IDs are left 0 so the
    /// addresses name them.
    private func ipv4Record(_ event: Event = Event(), proto: UInt8 = 6) -> sluice_flow {
        var rec = sluice_flow()
        rec.time_ns = F.mono(millis: 250)
        rec.ip_version = 4
        set(&rec.src_ip, [10, 0, 1, 23])
        set(&rec.dst_ip, [10, 0, 2, 45])
        (rec.src_port, rec.dst_port, rec.l4_proto, rec.dst_identity) = (40_000, 80, proto, 999)
        (rec.verdict, rec.flow_type, rec.event_type, rec.direction) =
            (event.verdict, event.flowType, event.eventType, event.direction)
        (rec.trace_point, rec.drop_reason, rec.is_reply, rec.tcp_flags) =
            (event.tracePoint, event.dropReason, event.isReply, event.tcpFlags)
        (rec.l7_type, rec.l7_proto) = (event.l7Type, event.l7Proto)
        return rec
    }

    func testTraceRecordOfTwoLocalEndpointsNamedByAddress() {
        let rec = ipv4Record(
            Event(verdict: 1, flowType: 1, eventType: 4, direction: 1, tracePoint: 3, isReply: 2, tcpFlags: 0x12))
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
        (rec.verdict, rec.flow_type, rec.is_reply) = (200, 9, 7)
        (rec.ip_version, rec.l4_proto) = (5, 1)
        (rec.src_endpoint, rec.src_identity) = (4242, 2)
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
        var rec = ipv4Record(
            Event(verdict: 1, flowType: 2, eventType: 129, direction: 2, tcpFlags: 0x02, l7Type: 1, l7Proto: 2))
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
        var rec = ipv4Record(Event(flowType: 2, l7Type: 2, l7Proto: 4), proto: 17)
        set(&rec.l7.dns.query, Array("example.com.".utf8))
        (rec.l7.dns.qtype, rec.l7.dns.query_len, rec.l7.dns.rcode, rec.l7.dns.ttl) = (28, 12, 3, 30)
        (rec.l7.dns.n_ips, rec.l7.dns.ip_versions, rec.l7.dns.rrtypes_mask) = (250, 0b10, 0b101)
        (rec.l7.dns.error_side, rec.l7.dns.error_errno) = (2, 111)
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
        var rec = ipv4Record(Event(verdict: 2, flowType: 1, eventType: 1, direction: 1, dropReason: 181))
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

    /// Which reference a record names: an L7 request's, by the part of the union its protocol
    /// fills; a policy verdict's or a drop's `policy_ref`; nothing for responses and traces.
    func testPolicyRefByRecordKind() {
        func ref(_ rec: sluice_flow) -> UInt32 { withUnsafePointer(to: rec) { Flow.policyRef($0) } }
        for (proto, name) in [(1, "HTTP/1.0"), (2, "HTTP/1.1"), (3, "HTTP/2"), (5, "TLS")] as [(UInt8, String)] {
            var http = ipv4Record(Event(flowType: 2, eventType: 129, l7Type: 1, l7Proto: proto))
            (http.l7.http.policy_id, http.policy_ref) = (11, 99)
            XCTAssertEqual(ref(http), 11, name)
            http.l7_type = 2
            XCTAssertEqual(ref(http), 0, "\(name) response")
        }
        var dns = ipv4Record(Event(flowType: 2, eventType: 129, l7Type: 1, l7Proto: 4))
        dns.l7.dns.policy_id = 12
        XCTAssertEqual(ref(dns), 12)
        dns.l7_proto = 0
        XCTAssertEqual(ref(dns), 0, "an L7 record without a protocol")
        var verdict = ipv4Record(Event(verdict: 1, flowType: 1, eventType: 5))
        verdict.policy_ref = 13
        XCTAssertEqual(ref(verdict), 13)
        verdict.event_type = 1
        XCTAssertEqual(ref(verdict), 13, "a drop")
        verdict.event_type = 4
        XCTAssertEqual(ref(verdict), 0, "a trace")
    }
}
