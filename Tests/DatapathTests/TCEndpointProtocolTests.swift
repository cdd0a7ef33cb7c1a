import CSluiceShared
import Policy
import XCTest

@testable import Datapath

/// Default deny for every protocol in bpf/tc_endpoint.c, run with BPF_PROG_RUN: IPv6, ICMP
/// (echo, errors related to a connection, fragmentation needed, short headers), SCTP and IPv4
/// fragments, each from or toward a default-deny endpoint, with the DROPPED flow each drop writes.
final class TCEndpointProtocolTests: XCTestCase {
    let a = Fixture.podA
    let b = Fixture.podB

    private func echo(_ src: UInt32, _ dst: UInt32, type: UInt8 = 8, id: UInt16 = 0x1234) -> [UInt8] {
        Packets.ipv4(
            src: src, dst: dst, proto: Packets.icmp, l4: Packets.icmpHeader(type: type, id: id) + [1, 2, 3, 4])
    }

    private func tcp(
        _ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16,
        flags: UInt8 = UInt8(SLUICE_TCP_SYN)
    ) -> [UInt8] {
        Packets.ipv4(src: src, dst: dst, proto: Fixture.tcp, l4: Packets.tcp(sport: sport, dport: dport, flags: flags))
    }

    /// The policy of A (frontend) and B (backend): default deny both ways on both, plus `extra`.
    private func denyAll(plus extra: String = "") -> String {
        extra.isEmpty ? PolicyHarness.denyAll : PolicyHarness.denyAll + "\n---\n" + extra
    }

    // MARK: IPv6

    func testIpv6FromADefaultDenyEndpointIsDropped() throws {
        try PolicyHarness.with(denyAll()) { h throws in
            let syn = Packets.ipv6(
                src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Fixture.tcp,
                l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
            let (verdict, flow) = try h.withFlow { try h.fromA(syn) }
            XCTAssertEqual(verdict, TC.shot)
            let f = try XCTUnwrap(flow)
            XCTAssertEqual(f.verdict, UInt8(SLUICE_VERDICT_DROPPED.rawValue))
            XCTAssertEqual(f.drop_reason, UInt8(SLUICE_DROP_POLICY_DENIED.rawValue))
            XCTAssert(f.ip_version == 6 && f.srcIP6 == Packets.ip6(0xa) && f.dstIP6 == Packets.ip6(0xb))
            XCTAssert(f.l4_proto == Fixture.tcp && f.src_port == 40000 && f.dst_port == 80)
            XCTAssertEqual(f.tcp_flags, UInt8(SLUICE_TCP_SYN))
            XCTAssert(f.src_identity == h.identityA && f.dst_identity == 2, "IPv6 peers are world")
            XCTAssert(f.src_endpoint == 1 && f.dst_endpoint == 0)
            XCTAssertEqual(f.direction, UInt8(SLUICE_DIR_EGRESS.rawValue))
        }
    }

    func testIpv6TowardADefaultDenyEndpointIsDropped() throws {
        // The to-endpoint program finds B by the veth the packet leaves by (ifindex 1 here).
        try PolicyHarness.with(denyAll(), ifindexB: 1) { h throws in
            let syn = Packets.ipv6(
                src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Fixture.tcp,
                l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
            let (verdict, flow) = try h.withFlow { try h.t.runToPod(syn) }
            XCTAssertEqual(verdict, TC.shot)
            let f = try XCTUnwrap(flow)
            XCTAssert(f.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue) && f.ip_version == 6)
            XCTAssert(f.dst_identity == h.identityB && f.dst_endpoint == 2 && f.src_identity == 2)
            XCTAssertEqual(f.direction, UInt8(SLUICE_DIR_INGRESS.rawValue))
            // The node's own IPv6 (no ingress device: its link-local neighbour discovery, MLD) is
            // the host, which allow-localhost admits.
            XCTAssertEqual(try h.t.runToPod(nodeSolicitation, ingressIfindex: 0), TC.ok)
        }
        try PolicyHarness.with(
            denyAll(
                plus: """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: no-node, namespace: backend}
                    spec:
                      endpointSelector: {}
                      ingressDeny: [{fromEntities: [host]}]
                    """), ifindexB: 1
        ) { h throws in
            let (verdict, flow) = try h.withFlow { try h.t.runToPod(nodeSolicitation, ingressIfindex: 0) }
            XCTAssert(
                verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENY.rawValue)
                    && flow?.src_identity == 1, "a deny naming the host wins")
        }
    }

    /// A router solicitation the node sends toward a pod.
    private let nodeSolicitation = Packets.ipv6(
        src: Packets.ip6(1), dst: Packets.ip6(0xb), next: Packets.icmpv6,
        l4: Packets.icmpHeader(type: 133))

    func testIpv6WithoutPolicyPassesAndMalformedIPv6IsDropped() throws {
        try PolicyHarness.with("", ifindexB: 1) { h throws in
            let ping = Packets.ipv6(
                src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Packets.icmpv6,
                l4: Packets.icmpHeader(type: 128, id: 7))
            XCTAssertEqual(try h.fromA(ping), TC.ok)
            XCTAssertEqual(try h.t.runToPod(ping), TC.ok)
            // A TCP header cut short: invalid whatever the policy (134).
            let cut = Packets.ipv6(src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Fixture.tcp, l4: [0, 80, 0, 81])
            let (verdict, flow) = try h.withFlow { try h.fromA(cut) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_PACKET.rawValue))
        }
    }

    func testIpv6DenyNamingEveryPeerDropsWithoutDefaultDeny() throws {
        try PolicyHarness.with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: no-telnet, namespace: frontend}
            spec:
              endpointSelector: {}
              enableDefaultDeny: {egress: false}
              egressDeny:
              - toPorts: [{ports: [{port: "23", protocol: TCP}]}]
            """
        ) { h throws in
            let telnet = Packets.ipv6(
                src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Fixture.tcp,
                l4: Packets.tcp(sport: 40000, dport: 23, flags: UInt8(SLUICE_TCP_SYN)))
            let (verdict, flow) = try h.withFlow { try h.fromA(telnet) }
            XCTAssert(verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENY.rawValue))
            let web = Packets.ipv6(
                src: Packets.ip6(0xa), dst: Packets.ip6(0xb), next: Fixture.tcp,
                l4: Packets.tcp(sport: 40000, dport: 80, flags: UInt8(SLUICE_TCP_SYN)))
            XCTAssertEqual(try h.fromA(web), TC.ok)
        }
    }

    // MARK: ICMP

    private let pingAllowed = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: ping-out, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
            icmps: [{fields: [{type: EchoRequest}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: ping-in, namespace: backend}
        spec:
          endpointSelector: {}
          ingress:
          - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
            icmps: [{fields: [{type: 8, family: IPv4}]}]
        """

    func testEchoUnderDefaultDenyIsDroppedWithItsType() throws {
        try PolicyHarness.with(denyAll()) { h throws in
            let (verdict, flow) = try h.withFlow { try h.fromA(echo(a, b)) }
            XCTAssertEqual(verdict, TC.shot)
            let f = try XCTUnwrap(flow)
            XCTAssertEqual(f.drop_reason, UInt8(SLUICE_DROP_POLICY_DENIED.rawValue))
            XCTAssert(f.l4_proto == Packets.icmp && f.icmp_type == 8 && f.icmp_code == 0 && f.ip_version == 4)
            XCTAssert(f.srcIPv4 == a && f.dstIPv4 == b)
            XCTAssert(f.src_identity == h.identityA && f.dst_identity == h.identityB)
            XCTAssert(f.src_endpoint == 1 && f.dst_endpoint == 2 && f.direction == UInt8(SLUICE_DIR_EGRESS.rawValue))
        }
    }

    func testIcmpsRuleAllowsEchoAndTheReplyPasses() throws {
        try PolicyHarness.with(denyAll(plus: pingAllowed)) { h throws in
            XCTAssertEqual(try h.fromA(echo(a, b)), TC.ok)
            XCTAssertEqual(try h.fromB(echo(b, a, type: 0)), TC.ok, "echo reply of a tracked echo")
            XCTAssertEqual(try h.fromB(echo(b, a, type: 0, id: 0x4321)), TC.shot, "an unsolicited reply is no reply")
            XCTAssertEqual(try h.fromB(echo(b, a)), TC.shot, "B may not ping A")
            // Timestamp (13) is no echo request: the rule does not cover it.
            XCTAssertEqual(try h.fromA(echo(a, b, type: 13)), TC.shot)
        }
    }

    func testIcmpsDenyRuleDropsWithPolicyDeny() throws {
        try PolicyHarness.with(
            denyAll(
                plus: """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: no-ping, namespace: frontend}
                    spec:
                      endpointSelector: {}
                      egress:
                      - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
                      egressDeny:
                      - icmps: [{fields: [{type: EchoRequest}]}]
                    """)
        ) { h throws in
            let (verdict, flow) = try h.withFlow { try h.fromA(echo(a, b)) }
            XCTAssert(verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENY.rawValue))
        }
    }

    /// A may send to B and B accept from A: L3-only, or with `ports` as their `toPorts`.
    private func aToB(ports: String? = nil) -> String {
        let line = ports.map { "\n    toPorts: " + $0 } ?? ""
        return """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: to-b, namespace: frontend}
            spec:
              endpointSelector: {}
              egress:
              - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]\(line)
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: from-a, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]\(line)
            """
    }

    func testL3OnlyAllowsMatchICMPButToPortsANYDoesNot() throws {
        let gre = Packets.ipv4(src: a, dst: b, proto: 47, l4: [0, 0, 8, 0])
        try PolicyHarness.with(denyAll(plus: aToB())) { h throws in
            XCTAssertEqual(try h.fromA(echo(a, b)), TC.ok)
            XCTAssertEqual(try h.fromA(gre), TC.ok, "another protocol: L3-only allows cover it (protocol 0 entries)")
        }
        try PolicyHarness.with(denyAll(plus: aToB(ports: "[{ports: [{port: \"0\", protocol: ANY}]}]"))) { h throws in
            XCTAssertEqual(try h.fromA(echo(a, b)), TC.shot, "ANY is TCP, UDP and SCTP")
            XCTAssertEqual(try h.fromA(tcp(a, b, 40000, 80)), TC.ok)
            XCTAssert(
                try h.fromA(
                    Packets.ipv4(
                        src: a, dst: b, proto: Packets.sctp,
                        l4: Packets.sctpInit(sport: 5000, dport: 9999))) == TC.ok)
            XCTAssertEqual(try h.fromA(gre), TC.shot)
        }
    }

    private let udp53 = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-out, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-in, namespace: backend}
        spec:
          endpointSelector: {}
          ingress:
          - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]
        """

    func testIcmpErrorsRelatedToATrackedConnectionPass() throws {
        try PolicyHarness.with(denyAll(plus: udp53)) { h throws in
            let query = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: Packets.udp(sport: 40000, dport: 53))
            XCTAssertEqual(try h.fromA(query), TC.ok)
            let quoted = Array(query.dropFirst(14))
            // B's port unreachable about A's query: B's egress and A's ingress are default deny.
            let related = Packets.icmpError(src: b, dst: a, type: 3, code: 3, quoting: quoted)
            XCTAssertEqual(try h.fromB(related), TC.ok)
            // The same error about a datagram of no tracked connection is decided by policy.
            let other = Array(
                Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: Packets.udp(sport: 40001, dport: 53))
                    .dropFirst(14))
            let (verdict, flow) = try h.withFlow {
                try h.fromB(
                    Packets.icmpError(
                        src: b, dst: a, type: 3, code: 3,
                        quoting: other))
            }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(
                flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue) && flow?.icmp_type == 3
                    && flow?.icmp_code == 3)
            // An error from a third address (a router) toward A goes through A's ingress policy.
            let routerError = Packets.icmpError(src: Fixture.outside, dst: a, type: 11, code: 0, quoting: quoted)
            XCTAssertEqual(try h.t.runToPod(routerError), TC.shot)
        }
    }

    func testFragmentationNeededAlwaysPasses() throws {
        try PolicyHarness.with(
            denyAll(
                plus: """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: no-unreachable, namespace: backend}
                    spec:
                      endpointSelector: {}
                      egressDeny:
                      - icmps: [{fields: [{type: DestinationUnreachable}]}]
                    """)
        ) { h throws in
            let quoted = Array(tcp(a, Fixture.outside, 40000, 443).dropFirst(14))
            XCTAssert(
                try h.t.runToPod(
                    Packets.icmpError(
                        src: Fixture.outside, dst: a, type: 3, code: 4,
                        quoting: quoted)) == TC.ok)
            XCTAssertEqual(
                try h.fromB(Packets.icmpError(src: b, dst: a, type: 3, code: 4, quoting: quoted)), TC.ok,
                "even against an icmps deny")
            XCTAssertEqual(try h.fromB(Packets.icmpError(src: b, dst: a, type: 3, code: 1, quoting: quoted)), TC.shot)
        }
    }

    func testIcmpShorterThanEightBytesIsInvalid() throws {
        try PolicyHarness.with("") { h throws in
            let short = Packets.ipv4(src: a, dst: b, proto: Packets.icmp, l4: [8, 0, 0, 0])
            let (verdict, flow) = try h.withFlow { try h.fromA(short) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_PACKET.rawValue) && flow?.ip_version == 4)
        }
    }

    // MARK: SCTP

    func testSctpPortsAreEnforced() throws {
        try PolicyHarness.with(
            denyAll(
                plus: udp53.replacingOccurrences(
                    of: "\"53\", protocol: UDP",
                    with: "\"9999\", protocol: SCTP"))
        ) { h throws in
            let allowed = Packets.ipv4(
                src: a, dst: b, proto: Packets.sctp, l4: Packets.sctpInit(sport: 5000, dport: 9999))
            XCTAssertEqual(try h.fromA(allowed), TC.ok)
            let denied = Packets.ipv4(
                src: a, dst: b, proto: Packets.sctp, l4: Packets.sctpInit(sport: 5000, dport: 9998))
            let (verdict, flow) = try h.withFlow { try h.fromA(denied) }
            XCTAssertEqual(verdict, TC.shot)
            XCTAssert(
                flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue) && flow?.l4_proto == Packets.sctp
                    && flow?.dst_port == 9998 && flow?.src_port == 5000)
            XCTAssertEqual(try h.fromA(tcp(a, b, 5000, 9999)), TC.shot, "SCTP rules are SCTP only")
        }
    }

    // MARK: fragments

    func testTinyFirstFragmentIsInvalid() throws {
        try PolicyHarness.with("") { h throws in
            // More fragments set, offset 0, only 8 bytes of a TCP header (RFC 1858).
            let tiny = Packets.ipv4(
                src: a, dst: b, proto: Fixture.tcp,
                l4: Array(
                    Packets.tcp(
                        sport: 40000, dport: 80,
                        flags: UInt8(SLUICE_TCP_SYN)
                    ).prefix(8)), id: 9, fragment: 0x2000)
            let (verdict, flow) = try h.withFlow { try h.fromA(tiny) }
            XCTAssert(verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_INVALID_PACKET.rawValue))
            // Ethernet padding does not count: the IP length says 8 bytes of TCP.
            let padded = Packets.ipv4(
                src: a, dst: b, proto: Fixture.tcp,
                l4: Packets.tcp(
                    sport: 40000, dport: 80,
                    flags: UInt8(SLUICE_TCP_SYN)), totalLength: 28)
            XCTAssertEqual(try h.fromA(padded), TC.shot)
        }
    }

    func testLaterFragmentsFollowTheirFirst() throws {
        try PolicyHarness.with(denyAll(plus: udp53)) { h throws in
            let payload = [UInt8](repeating: 0xab, count: 16)
            let first = Packets.ipv4(
                src: a, dst: b, proto: Fixture.udp,
                l4: Packets.udp(sport: 40000, dport: 53, payload: payload), id: 77, fragment: 0x2000)
            let later = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: payload, id: 77, fragment: 0x0003)
            XCTAssertEqual(try h.fromA(first), TC.ok)
            XCTAssertEqual(try h.fromA(later), TC.ok, "ports from the first fragment: 53, allowed")

            let deniedFirst = Packets.ipv4(
                src: a, dst: b, proto: Fixture.udp,
                l4: Packets.udp(sport: 40000, dport: 54, payload: payload), id: 78,
                fragment: 0x2000)
            let deniedLater = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: payload, id: 78, fragment: 0x0003)
            XCTAssertEqual(try h.fromA(deniedFirst), TC.shot)
            let (verdict, flow) = try h.withFlow { try h.fromA(deniedLater) }
            XCTAssert(
                verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue)
                    && flow?.dst_port == 54, "follows its first fragment's verdict, with its ports")
        }
    }

    func testLaterFragmentWithoutItsFirstIsDropped() throws {
        try PolicyHarness.with("") { h throws in
            let orphan = Packets.ipv4(
                src: a, dst: b, proto: Fixture.udp, l4: [UInt8](repeating: 1, count: 16), id: 99,
                fragment: 0x0003)
            let (verdict, flow) = try h.withFlow { try h.fromA(orphan) }
            XCTAssertEqual(verdict, TC.shot)
            let f = try XCTUnwrap(flow)
            XCTAssertEqual(f.drop_reason, UInt8(SLUICE_DROP_FRAG_NOT_FOUND.rawValue))
            XCTAssert(f.ip_version == 4 && f.l4_proto == 0 && f.srcIPv4 == a && f.dstIPv4 == b, "no L4 to show")
            XCTAssert(f.src_endpoint == 1 && f.dst_endpoint == 2)
            // From outside toward a pod too.
            let inbound = Packets.ipv4(
                src: Fixture.outside, dst: b, proto: Fixture.udp,
                l4: [UInt8](repeating: 1, count: 16), id: 100, fragment: 0x0003)
            XCTAssertEqual(try h.t.runToPod(inbound), TC.shot)
        }
    }
}
