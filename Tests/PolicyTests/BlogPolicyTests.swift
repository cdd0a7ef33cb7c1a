import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Policy

/// The blog's whole L3/L4 sequence (blog-service-boundaries-cilium.txt, policies in
/// proxy-config/examples/blog/) as truth tables: YAML in, datapath decision out per
/// (endpoint, direction, peer, port). Endpoints: `Fixtures.blogEndpoints`.
final class BlogPolicyTests: XCTestCase {
    private let dns: UInt32 = 1, web: UInt32 = 2, api: UInt32 = 3, postgres: UInt32 = 4, test: UInt32 = 5,
        app: UInt32 = 6

    private func compile(_ files: [String]) throws -> PolicySnapshot {
        try Fixtures.compile(
            files.map { try Fixtures.example("blog/" + $0) }, endpoints: Fixtures.blogEndpoints,
            kubeAPIServer: [UInt32(bigEndian: 0x0A60_0001)])
    }

    /// `ingressDeny: [{}]` / `egressDeny: [{}]` select no peer (an empty rule has no L3 and no
    /// L4 part), so they deny nothing explicitly; they put every pod of the namespace into
    /// default deny both ways. Drops are POLICY_DENIED (133), not POLICY_DENY (181), and later
    /// allows restore traffic, as the blog reports.
    func testDenyAllIsDefaultDenyWithoutDenyEntries() throws {
        let snapshot = try compile(["cnp-deny-all.yaml"])
        XCTAssertEqual(
            snapshot.policyEnforcement.map(\.description),
            [web, api, postgres, test, app].flatMap {
                ["endpoint \($0) INGRESS default-deny", "endpoint \($0) EGRESS default-deny"]
            })
        XCTAssertFalse(snapshot.policyMap.values.contains(.deny))
        let apiID = snapshot.endpointIdentity(3)
        let testID = snapshot.endpointIdentity(5)
        XCTAssertEqual(snapshot.decision(endpoint: test, .egress, peer: apiID, port: 80), "denied-133")
        XCTAssertEqual(snapshot.decision(endpoint: api, .ingress, peer: testID, port: 80), "denied-133")
        XCTAssertEqual(
            snapshot.decision(
                endpoint: test, .egress, peer: snapshot.endpointIdentity(1), port: 53,
                proto: IPProtocol.udp), "denied-133")
        XCTAssertEqual(snapshot.decision(endpoint: api, .ingress, peer: ReservedIdentity.host, port: 80), "allow")
        XCTAssertEqual(
            snapshot.decision(
                endpoint: dns, .egress, peer: ReservedIdentity.world, port: 53,
                proto: IPProtocol.udp), "allow", "kube-dns is not selected yet")
    }

    func testDNSPoliciesThenAppFlowsThenVisibility() throws {
        let dnsID = try compile([]).endpointIdentity(1)
        let withDNS = try compile(["cnp-deny-all.yaml", "ccnp-allow-dns.yaml", "cnp-ns-dns.yaml"])
        let ids = (1...6).map { withDNS.endpointIdentity(UInt8($0)) }
        let (apiID, postgresID, testID, appID) = (ids[2], ids[3], ids[4], ids[5])
        XCTAssertEqual(ids[0], dnsID)
        let dnsRows: [(UInt32, Direction, UInt32, UInt16, UInt8, String)] = [
            (test, .egress, dnsID, 53, IPProtocol.udp, "allow"), (test, .egress, dnsID, 53, IPProtocol.tcp, "allow"),
            (app, .egress, dnsID, 53, IPProtocol.udp, "allow"), (postgres, .egress, dnsID, 53, IPProtocol.udp, "allow"),
            (test, .egress, dnsID, 80, IPProtocol.tcp, "denied-133"),
            (test, .egress, apiID, 80, IPProtocol.tcp, "denied-133"),
            (dns, .egress, ReservedIdentity.kubeAPIServer, 443, IPProtocol.tcp, "allow"),
            (dns, .egress, ReservedIdentity.kubeAPIServer, 80, IPProtocol.tcp, "denied-133"),
            (dns, .egress, ReservedIdentity.world, 53, IPProtocol.udp, "allow"),
            (dns, .egress, ReservedIdentity.world, 53, IPProtocol.tcp, "allow"),
            (dns, .egress, ReservedIdentity.world, 80, IPProtocol.tcp, "denied-133"),
            (dns, .egress, apiID, 53, IPProtocol.udp, "denied-133"),
            (dns, .ingress, testID, 53, IPProtocol.udp, "allow"),
        ]
        for (endpoint, direction, peer, port, proto, expected) in dnsRows {
            XCTAssertEqual(
                withDNS.decision(endpoint: endpoint, direction, peer: peer, port: port, proto: proto), expected,
                "dns step: endpoint \(endpoint) \(direction) \(peer) \(port)/\(proto)")
        }
        XCTAssertEqual(withDNS.ipcacheIdentity(10, 96, 0, 1), ReservedIdentity.kubeAPIServer)

        let base = ["cnp-deny-all.yaml", "ccnp-allow-dns.yaml", "cnp-ns-dns.yaml", "cnp-back-to-db.yaml"]
        let l4 = try compile(base + ["cnp-front-to-back.yaml"])
        let l7 = try compile(base + ["cnp-front-to-back-l7.yaml"])
        // (endpoint, direction, peer, port, L4 policy, with `http: [{}]`): visibility changes
        // allow into proxy on front->back 80 and nothing else.
        let appRows: [(UInt32, Direction, UInt32, UInt16, String, String)] = [
            (test, .egress, apiID, 80, "allow", "proxy"), (api, .ingress, testID, 80, "allow", "proxy"),
            (test, .egress, apiID, 8080, "denied-133", "denied-133"),
            (app, .egress, postgresID, 5432, "allow", "allow"), (postgres, .ingress, appID, 5432, "allow", "allow"),
            (api, .egress, postgresID, 5432, "allow", "allow"), (postgres, .ingress, apiID, 5432, "allow", "allow"),
            // frontend -> db stays blocked on both sides.
            (test, .egress, postgresID, 5432, "denied-133", "denied-133"),
            (postgres, .ingress, testID, 5432, "denied-133", "denied-133"),
            // Only app=api in backend takes ingress from frontend; backend's egress goes to db only.
            (app, .ingress, testID, 80, "denied-133", "denied-133"),
            (app, .egress, apiID, 80, "denied-133", "denied-133"),
            (web, .ingress, testID, 80, "denied-133", "denied-133"),
            (test, .egress, ids[1], 80, "denied-133", "denied-133"),
            (test, .egress, ReservedIdentity.world, 443, "denied-133", "denied-133"),
        ]
        for (endpoint, direction, peer, port, plain, visible) in appRows {
            let what = "endpoint \(endpoint) \(direction) \(peer) \(port)"
            XCTAssertEqual(l4.decision(endpoint: endpoint, direction, peer: peer, port: port), plain, what)
            XCTAssertEqual(l7.decision(endpoint: endpoint, direction, peer: peer, port: port), visible, what)
        }
        XCTAssertEqual(
            Set(l7.l7Ports.map { "\($0.endpointID) \($0.direction) \($0.port)" }),
            ["\(test) EGRESS 80", "\(web) EGRESS 80", "\(api) INGRESS 80"])
    }

    /// Empty rules and empty L3 lists select nothing; an L4-only rule selects every peer.
    func testEmptyRulesSelectNothing() throws {
        let snapshot = try Fixtures.compile([
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: empty, namespace: backend}
            spec:
              endpointSelector: {}
              ingress: [{}]
              egress:
              - toEntities: []
              - toPorts:
                - ports: [{port: "53", protocol: UDP}]
              egressDeny:
              - toPorts:
                - ports: [{port: "25", protocol: TCP}]
              - {}
            """
        ])
        let backendID: UInt32 = 2
        let rows: [(Direction, UInt32, UInt16, UInt8, String)] = [
            (.ingress, 256, 80, IPProtocol.tcp, "denied-133"),
            (.ingress, ReservedIdentity.world, 80, IPProtocol.tcp, "denied-133"),
            (.ingress, ReservedIdentity.host, 80, IPProtocol.tcp, "allow"),
            (.egress, ReservedIdentity.world, 443, IPProtocol.tcp, "denied-133"),
            (.egress, 256, 80, IPProtocol.tcp, "denied-133"),
            (.egress, ReservedIdentity.world, 53, IPProtocol.udp, "allow"), (.egress, 258, 53, IPProtocol.udp, "allow"),
            (.egress, 258, 25, IPProtocol.tcp, "deny-181"),
            (.egress, ReservedIdentity.world, 25, IPProtocol.tcp, "deny-181"),
        ]
        for (direction, peer, port, proto, expected) in rows {
            XCTAssertEqual(
                snapshot.decision(endpoint: backendID, direction, peer: peer, port: port, proto: proto), expected,
                "\(direction) \(peer) \(port)/\(proto)")
        }
    }
}
