import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// Connection tracking cannot outrank policy (bpf/lib/conntrack.h, run with BPF_PROG_RUN): an
/// explicit deny wins over a tracked connection, an FQDN-flagged one included; entries age out
/// (Cilium's lifetimes) and count as absent once expired (aged here by rewriting their time
/// through the map); the agent's sweep deletes them.
final class TCEndpointConntrackTests: XCTestCase {
    let a = Fixture.podA
    let b = Fixture.podB
    let learned = Fixture.ip4(192, 0, 2, 10)
    let fqdnIdentity = FQDNIdentity.base + 1

    private func tcp(_ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16, _ flags: Int32) -> [UInt8] {
        Packets.ipv4(
            src: src, dst: dst, proto: Fixture.tcp, l4: Packets.tcp(sport: sport, dport: dport, flags: UInt8(flags)))
    }

    private let fqdnPolicy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: fqdn, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toFQDNs: [{matchName: api.example.com}]
            toPorts:
            - ports: [{port: "443", protocol: TCP}]
        """

    /// Pod A with `fqdnPolicy` and api.example.com learned at `learned`; `body` gets the
    /// datapath, the repository and the learned address's policy entries.
    private func withLearnedName(
        _ body: (TestDatapath, PolicyRepository, [PolicyMapKey: PolicyMapAction]) throws -> Void
    )
        throws
    {
        let t = try TestDatapath()
        defer { t.close() }
        let pod = PolicyHarness.endpoints[0]
        let repository = PolicyRepository()
        try repository.apply(yamlText: fqdnPolicy, fileName: "fqdn.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: [pod], allocator: &allocator)
        try t.datapath.setEndpoint(
            ipv4: pod.ipv4,
            info: sluice_endpoint_info(
                id: 1, identity: snapshot.identity(ofIPv4: pod.ipv4), ifindex: 11, flags: 0))
        try t.datapath.syncL3L4(snapshot, hostIPv4: [])
        let entries = snapshot.fqdnPolicyEntries(identity: fqdnIdentity, names: ["api.example.com."])
        try t.datapath.writePolicyEntries(entries)
        try t.datapath.writeIPCache(IPCacheEntry(ipv4: learned, prefixLength: 32, identity: fqdnIdentity))
        try body(t, repository, entries)
    }

    /// The name's TTL ran out: the address leaves the ipcache, then its entries (FQDNPolicyWriter).
    private func expire(_ t: TestDatapath, _ entries: [PolicyMapKey: PolicyMapAction]) throws {
        try t.datapath.deleteIPCache(ipv4: learned, prefixLength: 32)
        try t.datapath.deletePolicyEntries(Array(entries.keys))
    }

    /// Moves the last packet time of the connection `tuple` `seconds` into the past.
    private func age(_ t: TestDatapath, _ tuple: sluice_tuple, by seconds: UInt32) throws {
        var entry = try XCTUnwrap(t.datapath.connection(tuple))
        entry.seen_s = Datapath.monotonicSeconds() &- seconds
        try t.datapath.setConnection(tuple, entry)
    }

    private func fromA(_ t: TestDatapath, _ packet: [UInt8]) throws -> UInt32 {
        try t.runFromPod(packet, ingressIfindex: 11)
    }

    func testEgressDenyWinsOverAnFQDNConnection() throws {
        try withLearnedName { t, repository, entries in
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41000, 443, SLUICE_TCP_SYN)), TC.ok)
            let tuple = Fixture.tuple(src: a, dst: learned, sport: 41000, dport: 443, proto: Fixture.tcp)
            let entry = try XCTUnwrap(t.datapath.connection(tuple))
            XCTAssertNotEqual(entry.flags & UInt32(SLUICE_CT_FQDN), 0)

            // egressDeny naming the address, installed the way the agent does (the learned
            // entries kept as extras, the snapshot's CIDR /32 winning the ipcache).
            try repository.apply(
                yamlText: """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: block-api, namespace: frontend}
                    spec:
                      endpointSelector: {}
                      egressDeny:
                      - toCIDR: [192.0.2.10/32]
                    """, fileName: "block.yaml")
            var allocator = IdentityAllocator()
            let snapshot = repository.compile(endpoints: [PolicyHarness.endpoints[0]], allocator: &allocator)
            try t.datapath.syncL3L4(
                snapshot, hostIPv4: [], extraPolicy: entries,
                extraIPCache: [IPCacheEntry(ipv4: learned, prefixLength: 32, identity: fqdnIdentity)])

            let mark = try t.flowMark()
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41000, 443, SLUICE_TCP_ACK)), TC.shot, "the open connection")
            XCTAssertEqual(
                try fromA(t, tcp(a, learned, 41000, 443, SLUICE_TCP_FIN | SLUICE_TCP_ACK)), TC.shot, "its FIN")
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41000, 443, SLUICE_TCP_SYN)), TC.shot, "a SYN after it")
            let flows = try t.flows(since: mark)
            XCTAssertEqual(flows.count, 3)
            XCTAssert(flows.allSatisfy { $0.drop_reason == UInt8(SLUICE_DROP_POLICY_DENY.rawValue) })
            XCTAssert(
                flows.map(\.tcp_flags) == [
                    UInt8(SLUICE_TCP_ACK), UInt8(SLUICE_TCP_FIN | SLUICE_TCP_ACK),
                    UInt8(SLUICE_TCP_SYN),
                ])
        }
    }

    func testAnFQDNConnectionOutlivesItsTTLOnlyWhileOpen() throws {
        try withLearnedName { t, _, entries in
            let syn = tcp(a, learned, 41001, 443, SLUICE_TCP_SYN)
            XCTAssertEqual(try fromA(t, syn), TC.ok)
            XCTAssertEqual(
                try t.runToPod(tcp(learned, a, 443, 41001, SLUICE_TCP_SYN | SLUICE_TCP_ACK)), TC.ok, "the reply")
            try expire(t, entries)
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41001, 443, SLUICE_TCP_ACK)), TC.ok, "open: keeps flowing")
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41001, 443, SLUICE_TCP_FIN | SLUICE_TCP_ACK)), TC.ok)
            XCTAssertEqual(
                try t.runToPod(tcp(learned, a, 443, 41001, SLUICE_TCP_FIN | SLUICE_TCP_ACK)), TC.ok, "reply FIN")
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41001, 443, SLUICE_TCP_ACK)), TC.ok, "the last ACK")
            let tuple = Fixture.tuple(src: a, dst: learned, sport: 41001, dport: 443, proto: Fixture.tcp)
            let closed = try XCTUnwrap(t.datapath.connection(tuple))
            let bothClosing = UInt32(SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING | SLUICE_CT_CLOSED)
            XCTAssertEqual(closed.flags & bothClosing, bothClosing)
            XCTAssertEqual(try fromA(t, syn), TC.shot, "a SYN after the close is a new connection: denied")
            try age(t, tuple, by: UInt32(SLUICE_CT_LIFETIME_TCP_CLOSE) + 1)
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41001, 443, SLUICE_TCP_ACK)), TC.shot, "closed and expired")
        }
    }

    func testAnFQDNConnectionIdleTooLongIsGone() throws {
        try withLearnedName { t, _, entries in
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41002, 443, SLUICE_TCP_SYN)), TC.ok)
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41002, 443, SLUICE_TCP_ACK)), TC.ok)
            try expire(t, entries)
            let tuple = Fixture.tuple(src: a, dst: learned, sport: 41002, dport: 443, proto: Fixture.tcp)
            try age(t, tuple, by: 1000)
            XCTAssertEqual(try fromA(t, tcp(a, learned, 41002, 443, SLUICE_TCP_ACK)), TC.ok, "established: 6 h")
            try age(t, tuple, by: UInt32(SLUICE_CT_LIFETIME_TCP) + 1)
            let (verdict, flow) = try PolicyHarness.flow(t) {
                try fromA(t, tcp(a, learned, 41002, 443, SLUICE_TCP_ACK))
            }
            XCTAssert(verdict == TC.shot && flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue))
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
        """

    func testExpiredEntriesCountAsAbsentAndTheSweepDeletesThem() throws {
        try PolicyHarness.with(PolicyHarness.denyAll + "\n---\n" + udp53) { h throws in
            let query = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: Packets.udp(sport: 40000, dport: 53))
            // B's ingress is default deny: the query passes A's egress, then meets B's ingress.
            XCTAssertEqual(try h.fromA(query), TC.shot)
            XCTAssert(
                try h.t.datapath.connection(
                    Fixture.tuple(src: a, dst: b, sport: 40000, dport: 53, proto: Fixture.udp)) == nil,
                "denied: untracked")
        }
        let both =
            udp53 + "\n---\n" + """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: dns-in, namespace: backend}
                spec:
                  endpointSelector: {}
                  ingress:
                  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
                    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
                """
        try PolicyHarness.with(PolicyHarness.denyAll + "\n---\n" + both) { h throws in
            let query = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: Packets.udp(sport: 40000, dport: 53))
            let answer = Packets.ipv4(src: b, dst: a, proto: Fixture.udp, l4: Packets.udp(sport: 53, dport: 40000))
            let tuple = Fixture.tuple(src: a, dst: b, sport: 40000, dport: 53, proto: Fixture.udp)
            XCTAssertEqual(try h.fromA(query), TC.ok)
            XCTAssertEqual(try h.fromB(answer), TC.ok, "a reply")
            try age(h.t, tuple, by: UInt32(SLUICE_CT_LIFETIME_ANY) - 5)
            XCTAssertEqual(try h.fromB(answer), TC.ok, "still live")
            XCTAssert(try h.t.datapath.sweepConnections().openDestinations.contains(b))
            try age(h.t, tuple, by: UInt32(SLUICE_CT_LIFETIME_ANY) + 1)
            let (verdict, flow) = try h.withFlow { try h.fromB(answer) }
            XCTAssertEqual(verdict, TC.shot, "expired: no longer a reply; B's egress denies it")
            XCTAssert(
                flow?.drop_reason == UInt8(SLUICE_DROP_POLICY_DENIED.rawValue)
                    && flow?.direction == UInt8(SLUICE_DIR_EGRESS.rawValue))
            let sweep = try h.t.datapath.sweepConnections()
            XCTAssert(sweep.removed == 1 && !sweep.openDestinations.contains(b))
            XCTAssertNil(h.t.datapath.connection(tuple))
            // A new query tracks the connection afresh.
            XCTAssertEqual(try h.fromA(query), TC.ok)
            XCTAssertEqual(try h.fromB(answer), TC.ok)
        }
    }

    func testTcpLifetimesFollowTheConnectionState() throws {
        let syn = UInt32(0)
        let established = UInt32(SLUICE_CT_ESTABLISHED)
        let closed = UInt32(SLUICE_CT_ESTABLISHED | SLUICE_CT_CLOSED | SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING)
        let halfClosed = UInt32(SLUICE_CT_ESTABLISHED | SLUICE_CT_CLOSED | SLUICE_CT_TX_CLOSING)
        XCTAssertEqual(Datapath.connectionLifetime(proto: Fixture.tcp, flags: syn), 60)
        XCTAssertEqual(Datapath.connectionLifetime(proto: Fixture.tcp, flags: established), 21600)
        XCTAssertEqual(Datapath.connectionLifetime(proto: Fixture.tcp, flags: halfClosed), 21600)
        XCTAssertEqual(Datapath.connectionLifetime(proto: Fixture.tcp, flags: closed), 10)
        XCTAssertEqual(Datapath.connectionLifetime(proto: Fixture.udp, flags: 0), 60)
        XCTAssertEqual(Datapath.connectionLifetime(proto: 1, flags: 0), 60)
        let now: UInt32 = 100_000
        let entry = sluice_ct_entry(created_ns: 0, flags: syn, seen_s: now - 60, tx_report_s: 0, rx_report_s: 0)
        XCTAssert(Datapath.isLive(entry, proto: Fixture.tcp, nowSeconds: now))
        XCTAssert(!Datapath.isLive(entry, proto: Fixture.tcp, nowSeconds: now + 1))
        XCTAssert(
            Datapath.isLive(
                sluice_ct_entry(created_ns: 0, flags: syn, seen_s: now + 1, tx_report_s: 0, rx_report_s: 0),
                proto: Fixture.tcp,
                nowSeconds: now), "refreshed a second ahead by another CPU")

        // In the datapath: a connection that never got past its SYN dies after 60 s.
        try PolicyHarness.with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-in, namespace: frontend}
            spec:
              podSelector: {}
              policyTypes: [Ingress]
            """
        ) { h throws in
            let tuple = Fixture.tuple(src: a, dst: b, sport: 40005, dport: 80, proto: Fixture.tcp)
            XCTAssertEqual(try h.fromA(tcp(a, b, 40005, 80, SLUICE_TCP_SYN)), TC.ok)
            let synAck = tcp(b, a, 80, 40005, SLUICE_TCP_SYN | SLUICE_TCP_ACK)
            try age(h.t, tuple, by: 59)
            XCTAssertEqual(try h.fromB(synAck), TC.ok)
            try age(h.t, tuple, by: 61)
            XCTAssertEqual(try h.fromB(synAck), TC.shot, "A's ingress is default deny")
        }
    }
}

extension PolicyHarness {
    /// Runs `action` and returns its verdict and the last flow it wrote (nil when none).
    static func flow(_ t: TestDatapath, _ action: () throws -> UInt32) throws -> (verdict: UInt32, flow: sluice_flow?) {
        let mark = try t.flowMark()
        let verdict = try action()
        return (verdict, try t.flows(since: mark).last)
    }
}
