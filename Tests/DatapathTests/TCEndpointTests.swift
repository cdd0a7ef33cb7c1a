import CSluiceShared
import Policy
import XCTest

@testable import Datapath

/// bpf/tc_endpoint.c run with BPF_PROG_RUN against real (test-pinned) maps.
final class TCEndpointTests: XCTestCase {
    let mark = UInt32(SLUICE_MARK_TO_PROXY)

    private func withPods(_ body: (TestDatapath) throws -> Void) throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        try body(t)
    }

    func testIngressL7PortMarksAndRecordsSYN() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
            let run = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80,
                    proto: Fixture.tcp))
            XCTAssertEqual(run.verdict, 0)  // TC_ACT_OK
            XCTAssertEqual(run.mark, mark)
            let tuple = Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp)
            let info = try XCTUnwrap(t.datapath.lookupSteered(tuple))
            XCTAssert(info.src_endpoint == 1 && info.dst_endpoint == 2)
            XCTAssertEqual(info.sides, UInt8(SLUICE_STEER_INGRESS))
            XCTAssertEqual(info.kind, UInt8(SLUICE_PROXY_HTTP.rawValue))
            XCTAssert(info.src_identity == 1001 && info.dst_identity == 1002)
            XCTAssert(info.created_ns > 0)
        }
    }

    func testEgressL7PortOfTheSourceIsRecordedAsTheEgressSide() throws {
        try withPods { t in
            try t.datapath.syncL7Ports([
                Fixture.key(endpoint: 1, port: 53, proto: Fixture.udp, direction: SLUICE_DIR_EGRESS):
                    Fixture.value(SLUICE_PROXY_DNS_UDP)
            ])
            let run = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 5353, dport: 53,
                    proto: Fixture.udp))
            XCTAssertEqual(run.mark, mark)
            let tuple = Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 5353, dport: 53, proto: Fixture.udp)
            let info = try XCTUnwrap(t.datapath.lookupSteered(tuple))
            XCTAssert(info.src_endpoint == 1 && info.dst_endpoint == 2)
            XCTAssertEqual(info.sides, UInt8(SLUICE_STEER_EGRESS))
            XCTAssertEqual(info.kind, UInt8(SLUICE_PROXY_DNS_UDP.rawValue))
        }
    }

    func testEgressToANonEndpointIsSteeredWithItsIPCacheIdentity() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 1, port: 53, proto: Fixture.udp, direction: SLUICE_DIR_EGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_DNS_UDP)])
            let run = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.outside, sport: 5353, dport: 53,
                    proto: Fixture.udp))
            XCTAssertEqual(run.mark, mark)
            let tuple = Fixture.tuple(
                src: Fixture.podA, dst: Fixture.outside, sport: 5353, dport: 53, proto: Fixture.udp)
            let info = try XCTUnwrap(t.datapath.lookupSteered(tuple))
            XCTAssert(info.src_identity == 1001 && info.dst_identity == 2, "no ipcache entry: world")

            // A learned toFQDNs address: the proxy gets the identity its L7 rules are matched with.
            try t.datapath.writeIPCache(IPCacheEntry(ipv4: Fixture.outside, prefixLength: 32, identity: 0x0180_0007))
            _ = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.outside, sport: 5354, dport: 53,
                    proto: Fixture.udp))
            let learned = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.podA, dst: Fixture.outside, sport: 5354, dport: 53, proto: Fixture.udp)))
            XCTAssertEqual(learned.dst_identity, 0x0180_0007)
        }
    }

    func testOtherPortsPassUntouched() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
            let cases: [[UInt8]] = [
                Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 6379, proto: Fixture.tcp),
                Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.udp),
                Fixture.packet(src: Fixture.podB, dst: Fixture.podA, sport: 40000, dport: 80, proto: Fixture.tcp),
            ]
            for packet in cases {
                let run = try t.runTC(packet)
                XCTAssert(run.verdict == 0 && run.mark == 0)
            }
        }
    }

    func testIpOptionsAreSkipped() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
            let packet = Fixture.packet(
                src: Fixture.podA, dst: Fixture.podB, sport: 40001, dport: 80,
                proto: Fixture.tcp, optionWords: 3)
            XCTAssertEqual(try t.runTC(packet).mark, mark)
            let tuple = Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 40001, dport: 80, proto: Fixture.tcp)
            XCTAssertNotNil(t.datapath.lookupSteered(tuple))
        }
    }

    func testTruncatedHeadersAreDroppedUnsteered() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
            let full = Fixture.packet(src: Fixture.podA, dst: Fixture.podB, sport: 40000, dport: 80, proto: Fixture.tcp)
            // Cut inside the TCP header (34 = eth + ip; 50 < 54 = full headers): invalid, dropped
            // even with no policy (TCEndpointProtocolTests checks the flow).
            let run = try t.runTC(Array(full[0..<50]))
            XCTAssert(run.verdict == 2 && run.mark == 0)
        }
    }

    func testEstablishedSegmentsAreMarkedButNotRecorded() throws {
        try withPods { t in
            let key = Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS)
            try t.datapath.syncL7Ports([key: Fixture.value(SLUICE_PROXY_HTTP)])
            let ack = UInt8(SLUICE_TCP_ACK)
            for flags in [ack, UInt8(SLUICE_TCP_SYN) | ack] {
                let packet = Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 40002, dport: 80,
                    proto: Fixture.tcp, tcpFlags: flags)
                XCTAssertEqual(try t.runTC(packet).mark, mark)
            }
            let tuple = Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 40002, dport: 80, proto: Fixture.tcp)
            XCTAssertNil(t.datapath.lookupSteered(tuple))
        }
    }
}
