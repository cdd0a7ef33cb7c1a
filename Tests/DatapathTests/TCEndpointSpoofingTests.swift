import CSluiceShared
import Policy
import XCTest

@testable import Datapath

/// Anti-spoofing in bpf/tc_endpoint.c with BPF_PROG_RUN: a packet that arrives on an endpoint's
/// veth must carry that endpoint's IPv4 address as its source, whatever policy either address
/// has, else it is dropped with INVALID_SOURCE_IP (132) and recorded as sent by the veth's
/// endpoint. ARP is no IP and passes.
final class TCEndpointSpoofingTests: XCTestCase {
    let a = Fixture.podA
    let b = Fixture.podB

    private func syn(_ src: UInt32, _ dst: UInt32) -> [UInt8] {
        Packets.ipv4(
            src: src, dst: dst, proto: Fixture.tcp,
            l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
    }

    /// Both pods may send anything anywhere: no policy can make a forged source acceptable.
    private let allowAll = """
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: open}
        spec:
          endpointSelector: {}
          egress: [{toEntities: [all]}]
          ingress: [{fromEntities: [all]}]
        """

    func testAnotherPodsAddressIsDropped() throws {
        for policy in ["", allowAll] {
            try PolicyHarness.with(policy) { h throws in
                XCTAssertEqual(try h.fromA(syn(a, Fixture.outside)), TC.ok, "A's own address")
                let (verdict, flow) = try h.withFlow { try h.fromA(syn(b, Fixture.outside)) }
                XCTAssertEqual(verdict, TC.shot)
                let f = try XCTUnwrap(flow)
                XCTAssertEqual(f.drop_reason, UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue))
                XCTAssertEqual(f.verdict, UInt8(SLUICE_VERDICT_DROPPED.rawValue))
                XCTAssert(f.srcIPv4 == b && f.dstIPv4 == Fixture.outside && f.ip_version == 4)
                XCTAssert(
                    f.src_endpoint == 1 && f.src_identity == h.identityA, "recorded as sent by A, whose veth it is")
                XCTAssert(f.dst_identity == 2 && f.dst_endpoint == 0)
                XCTAssertEqual(f.direction, UInt8(SLUICE_DIR_EGRESS.rawValue))
                // B's own packets on B's veth still pass.
                XCTAssertEqual(try h.fromB(syn(b, Fixture.outside)), TC.ok)
            }
        }
    }

    func testAnAddressThatIsNoEndpointIsDropped() throws {
        try PolicyHarness.with(allowAll) { h throws in
            let forged = Fixture.ip4(10, 244, 9, 9)
            let (verdict, flow) = try h.withFlow { try h.fromA(syn(forged, b)) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue))
            XCTAssert(flow?.src_endpoint == 1 && flow?.dst_endpoint == 2 && flow?.dst_identity == h.identityB)
            // A reply of a tracked connection with a forged source is no reply either.
            XCTAssertEqual(try h.fromB(syn(b, a)), TC.ok)
            XCTAssert(
                try h.fromA(
                    Packets.ipv4(
                        src: forged, dst: b, proto: Fixture.tcp,
                        l4: Packets.tcp(sport: 80, dport: 40000, flags: UInt8(SLUICE_TCP_ACK))))
                    == TC.shot)
        }
    }

    func testAVethOfNoEndpointPassesNothing() throws {
        try PolicyHarness.with("") { h throws in
            let (verdict, flow) = try h.withFlow { try h.t.runFromPod(syn(a, b), ingressIfindex: 77) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue) && flow?.src_endpoint == 0)
        }
    }

    func testArpPasses() throws {
        try PolicyHarness.with(PolicyHarness.denyAll) { h throws in
            // Ethernet + ARP request (who has B, tell B: a forged sender address changes nothing).
            var arp = Packets.ethernet(0x0806) + [0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 6)
            withUnsafeBytes(of: b) { arp += $0 }
            arp += [UInt8](repeating: 0, count: 6)
            withUnsafeBytes(of: b) { arp += $0 }
            XCTAssertEqual(try h.fromA(arp), TC.ok)
        }
    }
}

/// The agent's endpoint sync (`Datapath.syncEndpoints`): what an earlier run pinned for
/// endpoints that are gone is removed, so a reused veth does not keep a stale address.
final class EndpointSyncTests: XCTestCase {
    func testStaleAddressesAndVethsAreRemoved() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let a = sluice_endpoint_info(id: 1, identity: 1001, ifindex: 11, flags: 0)
        let b = sluice_endpoint_info(id: 2, identity: 1002, ifindex: 12, flags: 0)
        try t.datapath.syncEndpoints([Fixture.podA: a, Fixture.podB: b])
        XCTAssertEqual(t.datapath.vethEndpoint(ifindex: 12), b)
        let syn = Packets.ipv4(
            src: Fixture.podB, dst: Fixture.outside, proto: Fixture.tcp,
            l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
        XCTAssertEqual(try t.runFromPod(syn, ingressIfindex: 12), TC.ok)

        // B is gone; a new endpoint C got veth 12; A moved to veth 13.
        let c = sluice_endpoint_info(id: 3, identity: 1003, ifindex: 12, flags: 0)
        let movedA = sluice_endpoint_info(id: 1, identity: 1001, ifindex: 13, flags: 0)
        let podC = Fixture.ip4(10, 244, 3, 10)
        try t.datapath.syncEndpoints([Fixture.podA: movedA, podC: c])
        XCTAssertNil(t.datapath.vethEndpoint(ifindex: 11))
        XCTAssert(t.datapath.vethEndpoint(ifindex: 12) == c && t.datapath.vethEndpoint(ifindex: 13) == movedA)
        XCTAssertEqual(try t.runFromPod(syn, ingressIfindex: 12), TC.shot, "B's address is no longer valid on veth 12")
        try t.datapath.removeEndpoint(ipv4: podC)
        XCTAssertNil(t.datapath.vethEndpoint(ifindex: 12), "removeEndpoint takes the veth entry too")
    }
}

/// Frames that are neither IP nor ARP (802.1Q, LLDP, ...): no rule can name them, so default
/// deny drops them (UNSUPPORTED_L3_PROTOCOL, 139); without policy they pass.
final class NonIPFrameTests: XCTestCase {
    private let vlanTagged = Packets.ethernet(0x8100) + [0, 5, 0x08, 0x00] + [UInt8](repeating: 0x45, count: 40)

    func testDefaultDenyDropsOtherEtherTypes() throws {
        try PolicyHarness.with(PolicyHarness.denyAll, ifindexB: 1) { h throws in
            let (verdict, flow) = try h.withFlow { try h.fromA(vlanTagged) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(
                flow?.drop_reason == UInt8(SLUICE_DROP_UNSUPPORTED_L3.rawValue) && flow?.ip_version == 0
                    && flow?.src_endpoint == 1 && flow?.direction == UInt8(SLUICE_DIR_EGRESS.rawValue))
            let (toB, toBFlow) = try h.withFlow { try h.t.runToPod(vlanTagged) }
            XCTAssert(
                toB == TC.shot && toBFlow?.dst_endpoint == 2 && toBFlow?.direction == UInt8(SLUICE_DIR_INGRESS.rawValue)
            )
        }
        try PolicyHarness.with("", ifindexB: 1) { h throws in
            XCTAssertEqual(try h.fromA(vlanTagged), TC.ok)
            XCTAssertEqual(try h.t.runToPod(vlanTagged), TC.ok)
        }
    }
}
