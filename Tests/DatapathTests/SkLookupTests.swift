import CSluiceShared
import Glibc
import XCTest

@testable import Datapath

/// bpf/sk_lookup.c run with BPF_PROG_RUN: pass, assign, and fail closed with a flow record.
final class SkLookupTests: XCTestCase {
    let sk_pass: UInt32 = 1
    let sk_drop: UInt32 = 0
    let tuple = Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp)

    /// Steers `tuple` by running the tc program on its SYN.
    private func steer(_ t: TestDatapath) throws {
        try Fixture.addPods(t.datapath)
        let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
        _ = try t.runTC(
            Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp))
    }

    func testUnsteeredLookupsPass() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        let run = try t.runSkLookup(tuple)
        XCTAssert(run.verdict == sk_pass && run.cookie == 0)
        XCTAssertEqual(ring.nextSeq, 0)
    }

    func testEmptySockmapFailsClosedWithADroppedFlow() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try steer(t)
        let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        let before = ring.nextSeq
        XCTAssertEqual(try t.runSkLookup(tuple).verdict, sk_drop)
        XCTAssertEqual(ring.nextSeq, before + 1)
        let flow = try XCTUnwrap(ring.read(seq: before))
        XCTAssertEqual(flow.verdict, UInt8(SLUICE_VERDICT_DROPPED.rawValue))
        XCTAssertEqual(flow.flow_type, UInt8(SLUICE_FLOW_TYPE_L3_L4.rawValue))
        XCTAssertEqual(flow.event_type, UInt8(SLUICE_EVENT_DROP.rawValue))
        XCTAssertEqual(flow.drop_reason, UInt8(SLUICE_DROP_PROXY_LOOKUP_FAILED.rawValue))
        XCTAssertEqual(flow.direction, UInt8(SLUICE_DIR_INGRESS.rawValue))
        XCTAssert(flow.src_identity == 1001 && flow.dst_identity == 1002)
        XCTAssert(flow.src_endpoint == 1 && flow.dst_endpoint == 2)
        XCTAssertEqual(withUnsafeBytes(of: flow.src_ip) { $0.load(as: UInt32.self) }, Fixture.podA)
        XCTAssertEqual(withUnsafeBytes(of: flow.dst_ip) { $0.load(as: UInt32.self) }, Fixture.podB)
        XCTAssert(flow.src_port == 40000 && flow.dst_port == 80)
        XCTAssert(flow.ip_version == 4 && flow.l4_proto == Fixture.tcp)
        XCTAssertEqual(flow.tcp_flags, UInt8(SLUICE_TCP_SYN))
        XCTAssert(flow.time_ns > 0)
    }

    func testABothSidesLookupFailureIsChargedToTheEgressSide() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        try t.datapath.syncL7Ports([
            Fixture.key(endpoint: 1, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS): Fixture.value(
                SLUICE_PROXY_HTTP),
            Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS): Fixture.value(
                SLUICE_PROXY_HTTP),
        ])
        _ = try t.runTC(
            Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp))
        let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        let before = ring.nextSeq
        XCTAssertEqual(try t.runSkLookup(tuple).verdict, sk_drop)
        let flow = try XCTUnwrap(ring.read(seq: before))
        XCTAssertEqual(flow.drop_reason, UInt8(SLUICE_DROP_PROXY_LOOKUP_FAILED.rawValue))
        XCTAssertEqual(flow.direction, UInt8(SLUICE_DIR_EGRESS.rawValue), "the first proxy the packet would reach")
        XCTAssert(flow.src_endpoint == 1 && flow.dst_endpoint == 2)
    }

    func testRegisteredListenerIsAssigned() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try steer(t)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = Fixture.ip4(127, 0, 0, 1)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssert(bound == 0 && listen(fd, 1) == 0)
        try t.datapath.registerProxySocket(Int(SLUICE_SOCK_HTTP.rawValue), fd: fd)
        let run = try t.runSkLookup(tuple)
        XCTAssertEqual(run.verdict, sk_pass)
        XCTAssertNotEqual(run.cookie, 0)

        // Slot emptied again: fail closed.
        try t.datapath.unregisterProxySocket(Int(SLUICE_SOCK_HTTP.rawValue))
        XCTAssertEqual(try t.runSkLookup(tuple).verdict, sk_drop)
    }

    func testSocketOfTheWrongProtocolFailsClosed() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try steer(t)
        let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = Fixture.ip4(127, 0, 0, 1)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        // A UDP socket in the HTTP slot: bpf_sk_assign refuses it for a TCP lookup.
        try t.datapath.registerProxySocket(Int(SLUICE_SOCK_HTTP.rawValue), fd: fd)
        XCTAssertEqual(try t.runSkLookup(tuple).verdict, sk_drop)
        XCTAssertEqual(ring.nextSeq, 2)  // the steered SYN's trace record, then the drop record
    }

    func testSteeredDatagramGoesToTheDNSSocket() throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        let key = Fixture.key(endpoint: 1, port: 53, proto: Fixture.udp, direction: SLUICE_DIR_EGRESS)
        try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_DNS_UDP)])
        _ = try t.runTC(
            Fixture.packet(
                src: Fixture.podA, dst: Fixture.outside, sport: 5353, dport: 53,
                proto: Fixture.udp))
        let dns = Fixture.tuple(src: Fixture.podA, dst: Fixture.outside, sport: 5353, dport: 53, proto: Fixture.udp)
        XCTAssertEqual(try t.runSkLookup(dns).verdict, sk_drop)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = Fixture.ip4(127, 0, 0, 1)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        try t.datapath.registerProxySocket(Int(SLUICE_SOCK_DNS_UDP.rawValue), fd: fd)
        let run = try t.runSkLookup(dns)
        XCTAssert(run.verdict == sk_pass && run.cookie != 0)
    }
}
