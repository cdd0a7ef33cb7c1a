import CSluiceShared
import Policy
import Testing
@testable import Datapath

/// Anti-spoofing in bpf/tc_endpoint.c with BPF_PROG_RUN: a packet that arrives on an endpoint's
/// veth must carry that endpoint's IPv4 address as its source, whatever policy either address
/// has, else it is dropped with INVALID_SOURCE_IP (132) and recorded as sent by the veth's
/// endpoint. ARP is no IP and passes.
@Suite struct TCEndpointSpoofingTests {
    let a = Fixture.podA
    let b = Fixture.podB

    private func syn(_ src: UInt32, _ dst: UInt32) -> [UInt8] {
        Packets.ipv4(src: src, dst: dst, proto: Fixture.tcp,
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

    @Test func anotherPodsAddressIsDropped() throws {
        for policy in ["", allowAll] {
            try PolicyHarness.with(policy) { h throws in
                #expect(try h.fromA(syn(a, Fixture.outside)) == TC.ok, "A's own address")
                let (verdict, flow) = try h.withFlow { try h.fromA(syn(b, Fixture.outside)) }
                #expect(verdict == TC.shot)
                let f = try #require(flow)
                #expect(f.drop_reason == UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue))
                #expect(f.verdict == UInt8(SLUICE_VERDICT_DROPPED.rawValue))
                #expect(f.srcIPv4 == b && f.dstIPv4 == Fixture.outside && f.ip_version == 4)
                #expect(f.src_endpoint == 1 && f.src_identity == h.identityA, "recorded as sent by A, whose veth it is")
                #expect(f.dst_identity == 2 && f.dst_endpoint == 0)
                #expect(f.direction == UInt8(SLUICE_DIR_EGRESS.rawValue))
                // B's own packets on B's veth still pass.
                #expect(try h.fromB(syn(b, Fixture.outside)) == TC.ok)
            }
        }
    }

    @Test func anAddressThatIsNoEndpointIsDropped() throws {
        try PolicyHarness.with(allowAll) { h throws in
            let forged = Fixture.ip4(10, 244, 9, 9)
            let (verdict, flow) = try h.withFlow { try h.fromA(syn(forged, b)) }
            #expect(verdict == TC.shot)
            #expect(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue))
            #expect(flow?.src_endpoint == 1 && flow?.dst_endpoint == 2 && flow?.dst_identity == h.identityB)
            // A reply of a tracked connection with a forged source is no reply either.
            #expect(try h.fromB(syn(b, a)) == TC.ok)
            #expect(try h.fromA(Packets.ipv4(src: forged, dst: b, proto: Fixture.tcp,
                                             l4: Packets.tcp(sport: 80, dport: 40000, flags: UInt8(SLUICE_TCP_ACK))))
                    == TC.shot)
        }
    }

    @Test func aVethOfNoEndpointPassesNothing() throws {
        try PolicyHarness.with("") { h throws in
            let (verdict, flow) = try h.withFlow { try h.t.runFromPod(syn(a, b), ingressIfindex: 77) }
            #expect(verdict == TC.shot)
            #expect(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_SOURCE_IP.rawValue) && flow?.src_endpoint == 0)
        }
    }

    @Test func arpPasses() throws {
        try PolicyHarness.with(PolicyHarness.denyAll) { h throws in
            // Ethernet + ARP request (who has B, tell B: a forged sender address changes nothing).
            var arp = Packets.ethernet(0x0806) + [0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 6)
            withUnsafeBytes(of: b) { arp += $0 }
            arp += [UInt8](repeating: 0, count: 6)
            withUnsafeBytes(of: b) { arp += $0 }
            #expect(try h.fromA(arp) == TC.ok)
        }
    }
}

/// The agent's endpoint sync (`Datapath.syncEndpoints`): what an earlier run pinned for
/// endpoints that are gone is removed, so a reused veth does not keep a stale address.
@Suite struct EndpointSyncTests {
    @Test func staleAddressesAndVethsAreRemoved() throws {
        let t = try TestDatapath()
        defer { t.close() }
        let a = sluice_endpoint_info(id: 1, identity: 1001, ifindex: 11, flags: 0)
        let b = sluice_endpoint_info(id: 2, identity: 1002, ifindex: 12, flags: 0)
        try t.datapath.syncEndpoints([Fixture.podA: a, Fixture.podB: b])
        #expect(t.datapath.vethEndpoint(ifindex: 12) == b)
        let syn = Packets.ipv4(src: Fixture.podB, dst: Fixture.outside, proto: Fixture.tcp,
                               l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
        #expect(try t.runFromPod(syn, ingressIfindex: 12) == TC.ok)

        // B is gone; a new endpoint C got veth 12; A moved to veth 13.
        let c = sluice_endpoint_info(id: 3, identity: 1003, ifindex: 12, flags: 0)
        let movedA = sluice_endpoint_info(id: 1, identity: 1001, ifindex: 13, flags: 0)
        let podC = Fixture.ip4(10, 244, 3, 10)
        try t.datapath.syncEndpoints([Fixture.podA: movedA, podC: c])
        #expect(t.datapath.vethEndpoint(ifindex: 11) == nil)
        #expect(t.datapath.vethEndpoint(ifindex: 12) == c && t.datapath.vethEndpoint(ifindex: 13) == movedA)
        #expect(try t.runFromPod(syn, ingressIfindex: 12) == TC.shot, "B's address is no longer valid on veth 12")
        try t.datapath.removeEndpoint(ipv4: podC)
        #expect(t.datapath.vethEndpoint(ifindex: 12) == nil, "removeEndpoint takes the veth entry too")
    }
}

/// Frames that are neither IP nor ARP (802.1Q, LLDP, ...): no rule can name them, so default
/// deny drops them (UNSUPPORTED_L3_PROTOCOL, 139); without policy they pass.
@Suite struct NonIPFrameTests {
    private let vlanTagged = Packets.ethernet(0x8100) + [0, 5, 0x08, 0x00] + [UInt8](repeating: 0x45, count: 40)

    @Test func defaultDenyDropsOtherEtherTypes() throws {
        try PolicyHarness.with(PolicyHarness.denyAll, ifindexB: 1) { h throws in
            let (verdict, flow) = try h.withFlow { try h.fromA(vlanTagged) }
            #expect(verdict == TC.shot)
            #expect(flow?.drop_reason == UInt8(SLUICE_DROP_UNSUPPORTED_L3.rawValue) && flow?.ip_version == 0
                && flow?.src_endpoint == 1 && flow?.direction == UInt8(SLUICE_DIR_EGRESS.rawValue))
            let (toB, toBFlow) = try h.withFlow { try h.t.runToPod(vlanTagged) }
            #expect(toB == TC.shot && toBFlow?.dst_endpoint == 2 && toBFlow?.direction == UInt8(SLUICE_DIR_INGRESS.rawValue))
        }
        try PolicyHarness.with("", ifindexB: 1) { h throws in
            #expect(try h.fromA(vlanTagged) == TC.ok)
            #expect(try h.t.runToPod(vlanTagged) == TC.ok)
        }
    }
}
