import CSluiceShared
import XCTest

@testable import Flows

/// The DROPPED flows the tc programs write for every protocol (bpf/lib/policy.h's funnel), decoded
/// and printed as `hubble observe` prints Cilium's: ICMP with type and code and gopacket's
/// summary text, SCTP ports, IPv6 addresses, a fragment without L4, the drop reasons 132, 134
/// and 175.
final class FlowDatapathDropTests: XCTestCase {
    private let utc = PrintTimeZone.utc

    /// A tc drop record from the client to the server (both local endpoints).
    private func drop(
        reason: UInt8, proto: UInt8, sport: UInt16 = 0, dport: UInt16 = 0, icmp: (UInt8, UInt8) = (0, 0),
        ipVersion: UInt8 = 4, direction: sluice_direction = SLUICE_DIR_EGRESS
    ) -> Flow {
        FlowFixtures.record { rec in
            rec.pointee.time_ns = FlowFixtures.mono(seconds: 3, millis: 0)
            rec.pointee.src_identity = FlowFixtures.client.identity
            rec.pointee.dst_identity = FlowFixtures.server.identity
            rec.pointee.src_endpoint = FlowFixtures.client.id
            rec.pointee.dst_endpoint = FlowFixtures.server.id
            if ipVersion == 4 {
                withUnsafeMutableBytes(of: &rec.pointee.src_ip) {
                    $0.storeBytes(of: FlowFixtures.ip("10.0.1.23"), as: UInt32.self)
                }
                withUnsafeMutableBytes(of: &rec.pointee.dst_ip) {
                    $0.storeBytes(of: FlowFixtures.ip("10.0.2.45"), as: UInt32.self)
                }
            } else {
                withUnsafeMutableBytes(of: &rec.pointee.src_ip) {
                    $0[0] = 0xfd; $0[15] = 0x0a
                }
                withUnsafeMutableBytes(of: &rec.pointee.dst_ip) {
                    $0[0] = 0xfd; $0[15] = 0x0b
                }
            }
            rec.pointee.ip_version = ipVersion
            rec.pointee.l4_proto = proto
            rec.pointee.src_port = sport
            rec.pointee.dst_port = dport
            rec.pointee.icmp_type = icmp.0
            rec.pointee.icmp_code = icmp.1
            rec.pointee.verdict = UInt8(SLUICE_VERDICT_DROPPED.rawValue)
            rec.pointee.flow_type = UInt8(SLUICE_FLOW_TYPE_L3_L4.rawValue)
            rec.pointee.event_type = UInt8(SLUICE_EVENT_DROP.rawValue)
            rec.pointee.drop_reason = reason
            rec.pointee.direction = UInt8(direction.rawValue)
        }.1
    }

    func testICMPEchoDropPrintsLikeHubble() {
        let flow = drop(reason: 133, proto: 1, dport: 0x1234, icmp: (8, 0))
        XCTAssertEqual(flow.l4, .icmpv4(Flow.ICMP(type: 8, code: 0)))
        XCTAssertEqual(flow.summary, "ICMPv4 EchoRequest")
        XCTAssertEqual(
            FlowPrinter.compact(flow, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f (ID:11231) <> default/server-5c6b (ID:22411) "
                + "Policy denied DROPPED (ICMPv4 EchoRequest)")
        let json = FlowPrinter.json(flow)
        XCTAssertTrue(json.contains("\"l4\":{\"ICMPv4\":{\"type\":8}}"), json)
        XCTAssertTrue(json.contains("\"drop_reason_desc\":\"POLICY_DENIED\""), json)
        XCTAssertTrue(json.contains("\"Summary\":\"ICMPv4 EchoRequest\""), json)
        XCTAssertTrue(json.contains("\"traffic_direction\":\"EGRESS\""), json)
    }

    func testICMPTypeAndCodeTexts() {
        let cases: [((UInt8, UInt8), String)] = [
            ((0, 0), "ICMPv4 EchoReply"), ((3, 3), "ICMPv4 DestinationUnreachable(Port)"),
            ((3, 4), "ICMPv4 DestinationUnreachable(FragmentationNeeded)"),
            ((3, 99), "ICMPv4 DestinationUnreachable(Code: 99)"),
            ((8, 1), "ICMPv4 EchoRequest(Code: 1)"), ((11, 0), "ICMPv4 TimeExceeded(TTLExceeded)"),
            ((13, 0), "ICMPv4 TimestampRequest"), ((42, 0), "ICMPv4 42(0)"),
        ]
        for (icmp, summary) in cases {
            XCTAssertEqual(drop(reason: 133, proto: 1, icmp: icmp).summary, summary)
        }
        let v6 = drop(reason: 133, proto: 58, icmp: (128, 0), ipVersion: 6)
        XCTAssertEqual(v6.l4, .icmpv6(Flow.ICMP(type: 128)))
        XCTAssertEqual(v6.summary, "ICMPv6 EchoRequest")
        XCTAssertTrue(FlowPrinter.json(v6).contains("\"l4\":{\"ICMPv6\":{\"type\":128}}"))
        XCTAssertEqual(
            drop(reason: 133, proto: 58, icmp: (1, 4), ipVersion: 6).summary,
            "ICMPv6 DestinationUnreachable(PortUnreachable)")
    }

    func testSCTPAndIPv6TCP() {
        let sctp = drop(reason: 133, proto: 132, sport: 5000, dport: 9998)
        XCTAssertEqual(sctp.summary, "SCTP")
        XCTAssertEqual(
            FlowPrinter.compact(sctp, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f:5000 (ID:11231) <> default/server-5c6b:9998 (ID:22411) "
                + "Policy denied DROPPED (SCTP)")
        XCTAssertTrue(
            FlowPrinter.json(sctp).contains("\"l4\":{\"SCTP\":{\"source_port\":5000,\"destination_port\":9998}}"))

        let v6 = drop(reason: 133, proto: 6, sport: 40000, dport: 80, ipVersion: 6)
        XCTAssertEqual(v6.ip, Flow.IP(source: "fd00::a", destination: "fd00::b", ipVersion: .ipv6))
        XCTAssertTrue(FlowPrinter.json(v6).contains("\"ipVersion\":\"IPv6\""))
    }

    func testSpoofedInvalidAndFragmentReasons() {
        let spoofed = drop(reason: 132, proto: 6, sport: 40000, dport: 80)
        XCTAssertTrue(FlowPrinter.compact(spoofed, timeZone: utc).hasSuffix("Invalid source ip DROPPED (TCP Flags: )"))
        XCTAssertTrue(FlowPrinter.json(spoofed).contains("\"drop_reason_desc\":\"INVALID_SOURCE_IP\""))
        let invalid = drop(reason: 134, proto: 0)
        XCTAssertTrue(FlowPrinter.compact(invalid, timeZone: utc).hasSuffix("Invalid packet DROPPED (IPv4)"))
        XCTAssertTrue(FlowPrinter.json(invalid).contains("\"drop_reason_desc\":\"INVALID_PACKET_DROPPED\""))
        let fragment = drop(reason: 175, proto: 0)
        XCTAssertNil(fragment.l4)
        XCTAssertTrue(
            FlowPrinter.compact(fragment, timeZone: utc)
                .hasSuffix("First logical datagram fragment not found DROPPED (IPv4)"))
        XCTAssertTrue(
            FlowPrinter.json(fragment).contains("\"drop_reason_desc\":\"FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND\""))
        let vlan = drop(reason: 139, proto: 0, ipVersion: 0)
        XCTAssertNil(vlan.ip)
        XCTAssertEqual(
            FlowPrinter.compact(vlan, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f (ID:11231) <> default/server-5c6b (ID:22411) "
                + "Unsupported L3 protocol DROPPED (Ethernet)")
        XCTAssertTrue(FlowPrinter.json(vlan).contains("\"drop_reason_desc\":\"UNSUPPORTED_L3_PROTOCOL\""))
        XCTAssertEqual(DropReason.invalidSourceIP.name, "INVALID_SOURCE_IP")
        XCTAssertEqual(DropReason.invalidPacket.text, "Invalid packet")
        XCTAssertEqual(DropReason.fragmentNotFound.rawValue, UInt32(SLUICE_DROP_FRAG_NOT_FOUND.rawValue))
    }

    func testProtocolFilters() throws {
        let icmp = drop(reason: 133, proto: 1, icmp: (8, 0))
        let icmp6 = drop(reason: 133, proto: 58, icmp: (128, 0), ipVersion: 6)
        let sctp = drop(reason: 133, proto: 132, sport: 1, dport: 2)
        for (name, expected) in [
            ("icmp", [true, true, false]), ("icmpv4", [true, false, false]),
            ("icmpv6", [false, true, false]), ("sctp", [false, false, true]),
        ] {
            var filter = FlowFilter()
            try filter.add(.protocol, name)
            XCTAssertEqual([icmp, icmp6, sctp].map { filter.matches($0) }, expected, name)
        }
    }
}
