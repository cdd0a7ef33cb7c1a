import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// The steering of bpf/lib/steer.h run with BPF_PROG_RUN: both sides' L7 rules on one connection,
/// the hairpin of clients that are not local pods (sluice_tc_to_endpoint), and the proxy's own
/// upstream packets, decided with the identity their mark carries and never steered again.
final class TCEndpointSteerTests: XCTestCase {
    static let ok: UInt32 = 0  // TC_ACT_OK
    static let shot: UInt32 = 2  // TC_ACT_SHOT
    static let redirect: UInt32 = 7  // TC_ACT_REDIRECT
    let toProxy = UInt32(SLUICE_MARK_TO_PROXY)
    /// The node's own address (not an endpoint): the proxy's upstream connections leave from it.
    static let node = Fixture.ip4(10, 244, 0, 1)
    /// A forwarded packet's ingress device (any non-zero ifindex): it came from outside the node.
    static let uplink: UInt32 = 9

    private func withPods(_ body: (TestDatapath) throws -> Void) throws {
        let t = try TestDatapath()
        defer { t.close() }
        try Fixture.addPods(t.datapath)
        try body(t)
    }

    // MARK: pod to pod: both sides

    func testBothSidesL7RulesAreRecordedForOneConnection() throws {
        try withPods { t in
            try t.datapath.syncL7Ports([
                Fixture.key(endpoint: 1, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
                Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
            ])
            let run = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 41000, dport: 80,
                    proto: Fixture.tcp))
            XCTAssert(run.verdict == Self.ok && run.mark == toProxy)
            let info = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 41000, dport: 80, proto: Fixture.tcp)))
            XCTAssertEqual(info.sides, UInt8(SLUICE_STEER_EGRESS | SLUICE_STEER_INGRESS))
            XCTAssertEqual(info.kind, UInt8(SLUICE_PROXY_HTTP.rawValue))
            XCTAssert(info.src_endpoint == 1 && info.dst_endpoint == 2)
            XCTAssert(info.src_identity == 1001 && info.dst_identity == 1002)
        }
    }

    func testOnlyTheSidesWithL7RulesAreRecorded() throws {
        try withPods { t in
            // B's ingress only: A has no egress L7 rules on 80.
            try t.datapath.syncL7Ports([
                Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
                Fixture.key(endpoint: 1, port: 8080, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
            ])
            _ = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 41001, dport: 80,
                    proto: Fixture.tcp))
            let ingress = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 41001, dport: 80, proto: Fixture.tcp)))
            XCTAssertEqual(ingress.sides, UInt8(SLUICE_STEER_INGRESS))
            // A's egress only on 8080 (B has no ingress L7 rules there).
            _ = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 41002, dport: 8080,
                    proto: Fixture.tcp))
            let egress = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 41002, dport: 8080, proto: Fixture.tcp)))
            XCTAssertEqual(egress.sides, UInt8(SLUICE_STEER_EGRESS))
            XCTAssert(egress.src_endpoint == 1 && egress.dst_endpoint == 2)
        }
    }

    func testDifferentParserKindsOnTheTwoSidesFailClosed() throws {
        try withPods { t in
            // A's egress has DNS rules on 53/TCP, B's ingress HTTP rules on the same port.
            try t.datapath.syncL7Ports([
                Fixture.key(endpoint: 1, port: 53, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS):
                    Fixture.value(SLUICE_PROXY_DNS_TCP),
                Fixture.key(endpoint: 2, port: 53, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
            ])
            let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
            let before = ring.nextSeq
            let run = try t.runTC(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 41003, dport: 53,
                    proto: Fixture.tcp))
            XCTAssert(run.verdict == Self.shot && run.mark == 0)
            XCTAssert(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.podA, dst: Fixture.podB, sport: 41003, dport: 53, proto: Fixture.tcp))
                    == nil)
            XCTAssertEqual(ring.nextSeq, before + 1)
            let flow = try XCTUnwrap(ring.read(seq: before))
            XCTAssertEqual(flow.verdict, UInt8(SLUICE_VERDICT_DROPPED.rawValue))
            XCTAssertEqual(flow.drop_reason, UInt8(SLUICE_DROP_PROXY_REDIRECTION_NOT_SUPPORTED.rawValue))
            XCTAssertEqual(flow.direction, UInt8(SLUICE_DIR_INGRESS.rawValue))
            XCTAssert(flow.src_identity == 1001 && flow.dst_identity == 1002)
            XCTAssert(flow.src_endpoint == 1 && flow.dst_endpoint == 2)
        }
    }

    // MARK: clients that are not local pods: the hairpin

    /// B's ingress port 80 has HTTP rules for `peer` (0 = every peer): its L7 port entry and the
    /// REDIRECT policy entry the compiler writes for the peers the rule selects.
    private func steerB80(_ t: TestDatapath, for peer: UInt32 = 0) throws {
        try t.datapath.syncL7Ports([
            Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                Fixture.value(SLUICE_PROXY_HTTP)
        ])
        try t.datapath.writePolicyEntries([
            PolicyMapKey(endpointID: 2, identity: peer, port: 80, proto: Fixture.tcp, direction: .ingress): .redirect(
                .http)
        ])
    }

    func testWorldClientIsHairpinnedIntoTheProxy() throws {
        try withPods { t in
            try steerB80(t)
            var packet = Fixture.packet(
                src: Fixture.outside, dst: Fixture.podB, sport: 42000, dport: 80,
                proto: Fixture.tcp)
            packet.replaceSubrange(0..<6, with: [0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE])  // the pod's MAC
            let run = try t.runToEndpoint(packet, ingressIfindex: Self.uplink)
            XCTAssertEqual(run.verdict, Self.redirect, "bpf_redirect to the loopback device's ingress")
            XCTAssertEqual(run.mark, toProxy)
            XCTAssertEqual(Array(run.packet[0..<6]), [0, 0, 0, 0, 0, 0], "destination MAC = the loopback device's")
            XCTAssertEqual(Array(run.packet[6...]), Array(packet[6...]), "nothing else changed")
            let info = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.outside, dst: Fixture.podB, sport: 42000, dport: 80, proto: Fixture.tcp))
            )
            XCTAssertEqual(info.sides, UInt8(SLUICE_STEER_INGRESS))
            XCTAssertEqual(info.kind, UInt8(SLUICE_PROXY_HTTP.rawValue))
            XCTAssert(info.src_endpoint == 0 && info.dst_endpoint == 2)
            XCTAssert(info.src_identity == 2 && info.dst_identity == 1002, "world")

            // Later segments are hairpinned too, without a new record.
            let ack = try t.runToEndpoint(
                Fixture.packet(
                    src: Fixture.outside, dst: Fixture.podB, sport: 42000,
                    dport: 80, proto: Fixture.tcp,
                    tcpFlags: UInt8(SLUICE_TCP_ACK)),
                ingressIfindex: Self.uplink)
            XCTAssert(ack.verdict == Self.redirect && ack.mark == toProxy)

            // A CIDR identity of the ipcache is what the proxy matches its L7 peers with.
            try t.datapath.writeIPCache(IPCacheEntry(ipv4: Fixture.outside, prefixLength: 32, identity: 0x0100_0005))
            _ = try t.runToEndpoint(
                Fixture.packet(
                    src: Fixture.outside, dst: Fixture.podB, sport: 42001, dport: 80,
                    proto: Fixture.tcp), ingressIfindex: Self.uplink)
            let cidr = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Fixture.outside, dst: Fixture.podB, sport: 42001, dport: 80, proto: Fixture.tcp))
            )
            XCTAssertEqual(cidr.src_identity, 0x0100_0005)
        }
    }

    func testClientsNoL7RuleSelectsAreNotHairpinned() throws {
        try withPods { t in
            // B's HTTP rules on 80 select world only; the host reaches B by allow-localhost (all
            // ports, no L7 part) and a CIDR peer by an L3-only rule: neither is proxied (Cilium
            // redirects by the policy entry that matched), and no L7 rule restricts them.
            try steerB80(t, for: 2)
            try t.datapath.writePolicyEntries([
                PolicyMapKey(endpointID: 2, identity: 1, port: 0, proto: Fixture.tcp, direction: .ingress): .allow,
                PolicyMapKey(endpointID: 2, identity: 0x0100_0005, port: 0, proto: Fixture.tcp, direction: .ingress):
                    .allow,
            ])
            let host = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 42010, dport: 80,
                    proto: Fixture.tcp))
            XCTAssert(host.verdict == Self.ok && host.mark == 0)
            try t.datapath.writeIPCache(IPCacheEntry(ipv4: Fixture.outside, prefixLength: 32, identity: 0x0100_0005))
            let cidr = try t.runToEndpoint(
                Fixture.packet(
                    src: Fixture.outside, dst: Fixture.podB, sport: 42011,
                    dport: 80, proto: Fixture.tcp), ingressIfindex: Self.uplink)
            XCTAssert(cidr.verdict == Self.ok && cidr.mark == 0)
            let world = try t.runToEndpoint(
                Fixture.packet(
                    src: Fixture.ip4(198, 51, 100, 1), dst: Fixture.podB,
                    sport: 42012, dport: 80, proto: Fixture.tcp),
                ingressIfindex: Self.uplink)
            XCTAssert(world.verdict == Self.redirect && world.mark == toProxy, "the rule selects world")
        }
    }

    func testNodeClientIsHairpinnedAsHost() throws {
        try withPods { t in
            try steerB80(t, for: 1)
            let run = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 42002, dport: 80,
                    proto: Fixture.tcp), ingressIfindex: 0)
            XCTAssert(run.verdict == Self.redirect && run.mark == toProxy)
            let info = try XCTUnwrap(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Self.node, dst: Fixture.podB, sport: 42002, dport: 80, proto: Fixture.tcp)))
            XCTAssertEqual(info.src_identity, 1, "host")
            XCTAssert(info.sides == UInt8(SLUICE_STEER_INGRESS) && info.dst_endpoint == 2)
        }
    }

    func testPortsWithoutIngressL7RulesAndRepliesAreNotHairpinned() throws {
        try withPods { t in
            try t.datapath.syncL7Ports([
                Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
                // An egress rule of B on port 80 does not steer traffic toward B.
                Fixture.key(endpoint: 2, port: 8080, proto: Fixture.tcp, direction: SLUICE_DIR_EGRESS):
                    Fixture.value(SLUICE_PROXY_HTTP),
            ])
            try t.datapath.writePolicyEntries([
                PolicyMapKey(endpointID: 2, identity: 0, port: 80, proto: Fixture.tcp, direction: .ingress): .redirect(
                    .http)
            ])
            for port: UInt16 in [8080, 9000] {
                let run = try t.runToEndpoint(
                    Fixture.packet(
                        src: Fixture.outside, dst: Fixture.podB, sport: 42003,
                        dport: port, proto: Fixture.tcp),
                    ingressIfindex: Self.uplink)
                XCTAssert(run.verdict == Self.ok && run.mark == 0, "port \(port)")
            }
            // Sent by a local pod: steered (or not) on the sender's veth already.
            let fromPod = try t.runToEndpoint(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.podB, sport: 42004,
                    dport: 80, proto: Fixture.tcp))
            XCTAssert(fromPod.verdict == Self.ok && fromPod.mark == 0)
        }
    }

    // MARK: the proxy's upstream packets

    /// Pods A (frontend) and B (backend), B's ingress admitting A on 80 with HTTP rules and the
    /// node (host) on every port; the snapshot's maps installed, B's L7 port steered.
    private func withPolicy(_ body: (TestDatapath, _ a: UInt32, _ b: UInt32) throws -> Void) throws {
        let t = try TestDatapath()
        defer { t.close() }
        let endpoints = [
            EndpointDescriptor(
                id: 1, namespace: "frontend", podName: "a", podLabels: ["app": "a"],
                namespaceLabels: ["kubernetes.io/metadata.name": "frontend"], ipv4: Fixture.podA),
            EndpointDescriptor(
                id: 2, namespace: "backend", podName: "b", podLabels: ["app": "b"],
                namespaceLabels: ["kubernetes.io/metadata.name": "backend"], ipv4: Fixture.podB),
        ]
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: b-http, namespace: backend}
                spec:
                  endpointSelector: {matchLabels: {app: b}}
                  ingress:
                  - fromEndpoints: [{matchLabels: {app: a, k8s:io.kubernetes.pod.namespace: frontend}}]
                    toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]
                  - fromEntities: [host]
                """, fileName: "test.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        for endpoint in endpoints {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4), ifindex: 0, flags: 0))
        }
        try t.datapath.syncL3L4(snapshot, hostIPv4: [Self.node])
        try t.datapath.syncL7Ports([
            Fixture.key(endpoint: 2, port: 80, proto: Fixture.tcp, direction: SLUICE_DIR_INGRESS):
                Fixture.value(SLUICE_PROXY_HTTP)
        ])
        try body(t, snapshot.identity(ofIPv4: Fixture.podA), snapshot.identity(ofIPv4: Fixture.podB))
    }

    func testProxyUpstreamCarryingAnAllowedIdentityPassesAndIsNeverSteered() throws {
        try withPolicy { t, a, _ in
            let mark = sluice_mark_from_proxy(a)
            XCTAssertEqual(mark & UInt32(SLUICE_MARK_MASK), UInt32(SLUICE_MARK_FROM_PROXY))
            let run = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 43000, dport: 80,
                    proto: Fixture.tcp), mark: mark)
            XCTAssertEqual(run.verdict, Self.ok, "A may reach B:80")
            XCTAssertEqual(run.mark, mark, "not re-marked, not redirected: the proxy decided B's L7 rules already")
            XCTAssert(
                t.datapath.lookupSteered(
                    Fixture.tuple(src: Self.node, dst: Fixture.podB, sport: 43000, dport: 80, proto: Fixture.tcp))
                    == nil)
        }
    }

    func testProxyUpstreamCarryingADeniedIdentityIsDroppedAlthoughTheHostIsAllowed() throws {
        try withPolicy { t, _, b in
            // The node itself may reach B (fromEntities: host, every port, no L7 rule for it)...
            let host = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 43001, dport: 80,
                    proto: Fixture.tcp))
            XCTAssert(host.verdict == Self.ok && host.mark == 0, "allowed, not proxied")
            // ...but the proxy's connection for a world client is decided as world, not host.
            let ring = try FlowRing.openForReading(pinDirectory: t.pinDirectory)
            let before = ring.nextSeq
            let world: UInt32 = 2
            let run = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 43002, dport: 80,
                    proto: Fixture.tcp), mark: sluice_mark_from_proxy(world))
            XCTAssertEqual(run.verdict, Self.shot)
            let flow = try XCTUnwrap(ring.read(seq: before))
            XCTAssertEqual(flow.verdict, UInt8(SLUICE_VERDICT_DROPPED.rawValue))
            XCTAssertEqual(flow.drop_reason, UInt8(SLUICE_DROP_POLICY_DENIED.rawValue))
            XCTAssertEqual(flow.direction, UInt8(SLUICE_DIR_INGRESS.rawValue))
            XCTAssert(flow.src_identity == world && flow.dst_identity == b)
            XCTAssertEqual(flow.dst_endpoint, 2)

            // A node-local CIDR identity (25 bits) survives the mark too.
            let cidr: UInt32 = 0x0100_0005
            let cidrRun = try t.runToEndpoint(
                Fixture.packet(
                    src: Self.node, dst: Fixture.podB, sport: 43003,
                    dport: 80, proto: Fixture.tcp),
                mark: sluice_mark_from_proxy(cidr))
            XCTAssertEqual(cidrRun.verdict, Self.shot)
            let cidrFlow = try XCTUnwrap(ring.read(seq: before + 1))
            XCTAssertEqual(cidrFlow.src_identity, cidr)
        }
    }

    func testProxyMarkRoundTripsEveryIdentityWidth() {
        for identity: UInt32 in [
            0, 1, 2, 255, 256, 0xFFFF, 0x0100_0000, 0x0100_0005, 0x0180_0000,
            UInt32(SLUICE_IDENTITY_FQDN_END),
        ] {
            let mark = sluice_mark_from_proxy(identity)
            XCTAssertEqual(mark & UInt32(SLUICE_MARK_MASK), UInt32(SLUICE_MARK_FROM_PROXY), "\(identity)")
            XCTAssertEqual(sluice_mark_identity(mark), identity, "\(identity)")
        }
    }
}
