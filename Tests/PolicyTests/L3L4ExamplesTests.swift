import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Policy

/// Truth tables for proxy-config/examples/l3l4/ and the homelab/reference NetworkPolicies (the
/// policies of integration/scenarios/32_docs_policies.sh): YAML in, datapath decision out.
final class L3L4ExamplesTests: XCTestCase {
    private let endpoints = Fixtures.docsEndpoints

    private func compile(_ files: [String]) throws -> PolicySnapshot {
        try Fixtures.compile(
            files.map { try Fixtures.example($0) }, endpoints: endpoints,
            kubeAPIServer: [UInt32(bigEndian: 0x0A60_0001)])
    }

    func testEntities() throws {
        let s = try compile(["l3l4/to-entities.yaml"])
        let pod = s.endpointIdentity(14)
        let api = ReservedIdentity.kubeAPIServer, world = ReservedIdentity.world, host = ReservedIdentity.host
        // (subject, peer, port, decision)
        let rows: [(UInt32, UInt32, UInt16, String)] = [
            (6, world, 80, "allow"), (6, pod, 80, "denied-133"), (6, host, 8099, "denied-133"),
            (6, api, 443, "denied-133"),
            (7, pod, 80, "allow"), (7, host, 8099, "allow"), (7, api, 443, "allow"), (7, world, 80, "denied-133"),
            (8, host, 8099, "allow"), (8, pod, 80, "denied-133"), (8, world, 80, "denied-133"),
            (9, pod, 80, "allow"), (9, world, 80, "allow"), (9, host, 1, "allow"), (9, 16_777_300, 5, "allow"),
            (10, api, 443, "allow"), (10, api, 80, "denied-133"), (10, world, 443, "denied-133"),
            (10, pod, 443, "denied-133"),
        ]
        for (subject, peer, port, expected) in rows {
            XCTAssertEqual(
                s.decision(endpoint: subject, .egress, peer: peer, port: port), expected,
                "\(subject) -> \(peer):\(port)")
        }
        XCTAssertEqual(s.ipcacheIdentity(10, 96, 0, 1), api)
    }

    func testCIDRExceptRangeAndNamedPort() throws {
        let s = try compile(["l3l4/to-cidr-except.yaml", "l3l4/to-port-range.yaml", "l3l4/to-named-port.yaml"])
        let inside = s.ipcacheIdentity(192, 0, 2, 10), excepted = s.ipcacheIdentity(192, 0, 2, 200)
        XCTAssertNotEqual(inside, excepted)
        XCTAssertEqual(
            s.ipcacheIdentity(10, 0, 0, 14), s.endpointIdentity(14), "a pod address is its /32, never a CIDR identity")
        let rows: [(UInt32, UInt32, UInt16, String)] = [
            (11, inside, 80, "allow"), (11, excepted, 80, "denied-133"), (11, inside, 8000, "denied-133"),
            (11, s.endpointIdentity(14), 80, "denied-133"), (11, ReservedIdentity.world, 80, "denied-133"),
            (12, inside, 8000, "allow"), (12, inside, 8001, "allow"), (12, inside, 8002, "denied-133"),
            (12, inside, 80, "denied-133"),
            (13, s.endpointIdentity(14), 80, "allow"), (13, s.endpointIdentity(1), 8080, "denied-133"),
            (13, s.endpointIdentity(14), 8080, "denied-133"),
        ]
        for (subject, peer, port, expected) in rows {
            XCTAssertEqual(
                s.decision(endpoint: subject, .egress, peer: peer, port: port), expected,
                "\(subject) -> \(peer):\(port)")
        }
    }

    func testNetworkPolicyPeersIPBlockAndPolicyTypes() throws {
        let s = try compile([
            "homelab/default-deny-ingress.yaml", "homelab/allow-monitoring-scrape.yaml",
            "l3l4/knp-namespace-or-pod.yaml", "l3l4/knp-ipblock-except.yaml", "l3l4/knp-policy-types.yaml",
        ])
        let id = { (n: UInt8) in s.endpointIdentity(n) }
        let rows: [(UInt32, UInt32, UInt16, String)] = [
            // namespaceSelector AND podSelector, named port `metrics` (my-api 9100; web has none)
            (1, id(3), 9100, "allow"), (1, id(4), 9100, "denied-133"), (1, id(5), 9100, "denied-133"),
            (2, id(3), 80, "denied-133"), (1, id(3), 8080, "denied-133"),
            // two peers: an OR (any monitoring pod, or a prometheus pod of production)
            (16, id(4), 9000, "allow"), (16, id(3), 9000, "allow"), (16, id(17), 9000, "allow"),
            (16, id(5), 9000, "denied-133"), (16, id(18), 9000, "denied-133"), (16, id(4), 8080, "denied-133"),
            (15, s.ipcacheIdentity(192, 0, 2, 10), 80, "allow"),
            (15, s.ipcacheIdentity(192, 0, 2, 200), 80, "denied-133"),
            (15, id(9), 80, "denied-133"), (15, ReservedIdentity.host, 80, "allow"),
        ]
        for (subject, peer, port, expected) in rows {
            XCTAssertEqual(
                s.decision(endpoint: subject, .ingress, peer: peer, port: port), expected,
                "\(peer) -> \(subject):\(port)")
        }
        // policyTypes [Egress], no rules: egress default deny, ingress not enforced.
        XCTAssertEqual(s.decision(endpoint: 14, .egress, peer: ReservedIdentity.world, port: 80), "denied-133")
        XCTAssertEqual(s.decision(endpoint: 14, .ingress, peer: id(9), port: 80), "allow")
        XCTAssertFalse(s.policyEnforcement.contains { $0.endpointID == 14 && $0.direction == .ingress })
    }
}
