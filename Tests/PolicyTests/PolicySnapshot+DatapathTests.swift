import PolicyYAML
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Policy

/// Truth tables for the L3/L4 datapath entries (`PolicySnapshot+Datapath`): YAML in, policy map,
/// enforcement and ipcache out, and the decision the datapath takes for (peer, port, protocol).
/// Identities of `Fixtures.tutorialEndpoints`: frontend 256, backend 257, db 258, client 259.
final class DatapathEntriesTests: XCTestCase {
    private let frontend: UInt32 = 256
    private let backend: UInt32 = 257
    private let client: UInt32 = 259
    private let backendID: UInt32 = 2
    private let frontendID: UInt32 = 1

    private func compile(_ texts: [String]) throws -> PolicySnapshot {
        let repository = PolicyRepository()
        for (index, text) in texts.enumerated() {
            try repository.apply(yamlText: text, fileName: "p\(index).yaml")
        }
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
    }

    func testTutorialDefaultDenyIngress() throws {
        let snapshot = try compile([try Fixtures.example("tutorial/default-deny-ingress.yaml")])
        XCTAssertEqual(
            snapshot.canonicalL3L4Dump(),
            """
            enforcement:
              endpoint 2 INGRESS default-deny
            policy:
              endpoint 2 INGRESS from 1 */other allow
              endpoint 2 INGRESS from 1 */ICMP allow
              endpoint 2 INGRESS from 1 */TCP allow
              endpoint 2 INGRESS from 1 */UDP allow
              endpoint 2 INGRESS from 1 */ICMPv6 allow
              endpoint 2 INGRESS from 1 */SCTP allow
            ipcache:
              0.0.0.0/0 -> 2
              10.0.0.1/32 -> 256
              10.0.0.2/32 -> 257
              10.0.0.3/32 -> 258
              10.0.0.4/32 -> 259

            """)
        let rows: [(UInt32, UInt16, String)] = [
            (client, 80, "denied-133"), (frontend, 80, "denied-133"), (ReservedIdentity.world, 80, "denied-133"),
            (ReservedIdentity.host, 80, "allow"), (ReservedIdentity.host, 6379, "allow"),
        ]
        for (peer, port, expected) in rows {
            XCTAssertEqual(
                snapshot.decision(endpoint: backendID, .ingress, peer: peer, port: port), expected, "\(peer):\(port)")
        }
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .egress, peer: backend, port: 80), "allow")
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .ingress, peer: client, port: 80), "allow")
    }

    func testTutorialAllowFromFrontendThenL7() throws {
        let base = [
            try Fixtures.example("tutorial/default-deny-ingress.yaml"),
            try Fixtures.example("tutorial/allow-from-frontend.yaml"),
        ]
        let l4 = try compile(base)
        let rows: [(UInt32, UInt16, UInt8, String)] = [
            (frontend, 80, IPProtocol.tcp, "allow"), (frontend, 6379, IPProtocol.tcp, "denied-133"),
            (frontend, 80, IPProtocol.udp, "denied-133"), (client, 80, IPProtocol.tcp, "denied-133"),
        ]
        for (peer, port, proto, expected) in rows {
            XCTAssertEqual(l4.decision(endpoint: backendID, .ingress, peer: peer, port: port, proto: proto), expected)
        }
        XCTAssertEqual(
            l4.policyMap[
                PolicyMapKey(
                    endpointID: backendID, identity: frontend, port: 80, proto: IPProtocol.tcp,
                    direction: .ingress)], .allow)

        // With the L7 rules, the KNP's L4-only allow on the same port stays proxied (1.10 rules 2, 4).
        let l7 = try compile(base + [try Fixtures.example("tutorial/backend-http-rules.yaml")])
        XCTAssertEqual(
            l7.policyMap[
                PolicyMapKey(
                    endpointID: backendID, identity: frontend, port: 80, proto: IPProtocol.tcp,
                    direction: .ingress)], .redirect(.http))
        XCTAssertEqual(l7.decision(endpoint: backendID, .ingress, peer: client, port: 80), "denied-133")
    }

    func testDenyBeatsEveryAllow() throws {
        let snapshot = try compile([
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: deny, namespace: backend}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEntities: [all]
              ingressDeny:
              - fromEndpoints:
                - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: allow-frontend-80, namespace: backend}
            spec:
              podSelector: {}
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {name: frontend}}
                ports: [{port: 80}]
            """
        ])
        XCTAssertEqual(snapshot.decision(endpoint: backendID, .ingress, peer: frontend, port: 80), "deny-181")
        XCTAssertEqual(snapshot.decision(endpoint: backendID, .ingress, peer: frontend, port: 81), "allow")
        XCTAssertEqual(snapshot.decision(endpoint: backendID, .ingress, peer: client, port: 80), "allow")
        XCTAssertEqual(
            snapshot.decision(endpoint: backendID, .ingress, peer: frontend, port: 80, proto: IPProtocol.udp),
            "allow")
    }

    func testEnableDefaultDenyFalseAndUnion() throws {
        let optOut = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: audit-only, namespace: backend}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              enableDefaultDeny: {ingress: false}
              ingress:
              - fromEndpoints:
                - matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
              ingressDeny:
              - fromEntities: [world]
            """
        let alone = try compile([optOut])
        XCTAssertEqual(
            alone.policyEnforcement, [PolicyEnforcement(endpointID: backendID, direction: .ingress, defaultDeny: false)]
        )
        XCTAssertEqual(alone.decision(endpoint: backendID, .ingress, peer: client, port: 6379), "allow")
        XCTAssertEqual(
            alone.decision(endpoint: backendID, .ingress, peer: ReservedIdentity.world, port: 80), "deny-181")

        // Another rule selecting backend without the opt-out turns default deny on (OR), and the
        // allows of both are a union (CNP + CCNP).
        let both = try compile([
            optOut,
            """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: clients}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints:
                - matchLabels: {run: curl-test}
                toPorts:
                - ports: [{port: "6379", protocol: TCP}]
            """,
        ])
        let rows: [(UInt32, UInt16, String)] = [
            (frontend, 80, "allow"), (client, 6379, "allow"), (client, 80, "denied-133"),
            (frontend, 6379, "denied-133"),
        ]
        for (peer, port, expected) in rows {
            XCTAssertEqual(
                both.decision(endpoint: backendID, .ingress, peer: peer, port: port), expected, "\(peer):\(port)")
        }
    }

    func testCIDRWithExceptNeverSelectsPods() throws {
        let snapshot = try compile([
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: cidr, namespace: frontend}
            spec:
              endpointSelector: {matchLabels: {app: frontend}}
              egress:
              - toCIDRSet:
                - cidr: 10.0.0.0/8
                  except: [10.100.0.0/16]
                toPorts:
                - ports: [{port: "443", protocol: TCP}]
              - toCIDR: [192.0.2.10]
            """
        ])
        let wide = snapshot.ipcacheIdentity(10, 1, 2, 3)
        let excepted = snapshot.ipcacheIdentity(10, 100, 0, 1)
        let single = snapshot.ipcacheIdentity(192, 0, 2, 10)
        XCTAssertEqual(wide, CIDRIdentityTable.localScope + 1)
        XCTAssertEqual(excepted, CIDRIdentityTable.localScope + 2)
        XCTAssertEqual(single, CIDRIdentityTable.localScope + 3)
        XCTAssertEqual(snapshot.ipcacheIdentity(10, 0, 0, 2), backend, "a pod inside 10.0.0.0/8 keeps its own identity")
        XCTAssertEqual(snapshot.ipcacheIdentity(8, 8, 8, 8), ReservedIdentity.world)
        let rows: [(UInt32, UInt16, String)] = [
            (wide, 443, "allow"), (wide, 80, "denied-133"), (excepted, 443, "denied-133"),
            (backend, 443, "denied-133"), (single, 80, "allow"), (ReservedIdentity.world, 443, "denied-133"),
        ]
        for (peer, port, expected) in rows {
            XCTAssertEqual(
                snapshot.decision(endpoint: frontendID, .egress, peer: peer, port: port), expected, "\(peer):\(port)")
        }
        XCTAssertEqual(
            snapshot.cidrIdentities.map(\.labels.first),
            ["cidr:10.0.0.0/8", "cidr:10.100.0.0/16", "cidr:192.0.2.10/32"])
    }

    func testEntitiesWorldCoversCIDRIdentitiesAndHost() throws {
        let snapshot = try compile([
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: world, namespace: frontend}
            spec:
              endpointSelector: {matchLabels: {app: frontend}}
              egress:
              - toEntities: [world]
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
              - toEntities: [host]
              - toCIDR: [203.0.113.0/24]
                toPorts:
                - ports: [{port: "22", protocol: TCP}]
            """
        ])
        let cidr = snapshot.ipcacheIdentity(203, 0, 113, 7)
        XCTAssertEqual(
            snapshot.decision(endpoint: frontendID, .egress, peer: ReservedIdentity.world, port: 80), "allow")
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .egress, peer: cidr, port: 80), "allow")
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .egress, peer: cidr, port: 22), "allow")
        XCTAssertEqual(
            snapshot.decision(endpoint: frontendID, .egress, peer: ReservedIdentity.world, port: 22), "denied-133")
        XCTAssertEqual(
            snapshot.decision(endpoint: frontendID, .egress, peer: ReservedIdentity.host, port: 9999), "allow")
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .egress, peer: backend, port: 80), "denied-133")
    }

    func testNetworkPolicyPortsRangesAndPolicyTypes() throws {
        let snapshot = try compile([
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: everyone-range, namespace: backend}
            spec:
              podSelector: {}
              ingress:
              - ports:
                - {port: 8000, endPort: 8002}
                - {protocol: UDP, port: 53}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: egress-only, namespace: frontend}
            spec:
              podSelector: {}
              policyTypes: [Egress]
            """
        ])
        XCTAssertEqual(
            snapshot.policyEnforcement,
            [
                PolicyEnforcement(endpointID: frontendID, direction: .egress, defaultDeny: true),
                PolicyEnforcement(endpointID: backendID, direction: .ingress, defaultDeny: true),
            ])
        let rows: [(UInt32, UInt16, UInt8, String)] = [
            (ReservedIdentity.world, 8000, IPProtocol.tcp, "allow"), (client, 8002, IPProtocol.tcp, "allow"),
            (client, 8003, IPProtocol.tcp, "denied-133"), (client, 8001, IPProtocol.udp, "denied-133"),
            (frontend, 53, IPProtocol.udp, "allow"), (frontend, 53, IPProtocol.tcp, "denied-133"),
        ]
        for (peer, port, proto, expected) in rows {
            XCTAssertEqual(
                snapshot.decision(endpoint: backendID, .ingress, peer: peer, port: port, proto: proto), expected,
                "\(peer):\(port)/\(proto)")
        }
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .egress, peer: backend, port: 80), "denied-133")
        XCTAssertEqual(snapshot.decision(endpoint: frontendID, .ingress, peer: client, port: 80), "allow")
        // An empty `from` is every peer: the wildcard identity key.
        XCTAssertEqual(
            snapshot.policyMap[
                PolicyMapKey(
                    endpointID: backendID, identity: 0, port: 8001, proto: IPProtocol.tcp,
                    direction: .ingress)], .allow)
    }

    func testL4OnlyAllowFromOtherPeerOnL7PortIsRedirected() throws {
        let snapshot = try compile([
            try Fixtures.example("tutorial/backend-http-rules.yaml"),
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: clients-80, namespace: backend}
            spec:
              podSelector: {matchLabels: {app: backend}}
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}
                ports: [{port: 80}]
            """,
        ])
        for peer in [frontend, client] {
            XCTAssertEqual(
                snapshot.policyMap[
                    PolicyMapKey(
                        endpointID: backendID, identity: peer, port: 80, proto: IPProtocol.tcp,
                        direction: .ingress)], .redirect(.http), "\(peer)")
        }
        XCTAssertEqual(snapshot.decision(endpoint: backendID, .ingress, peer: 258, port: 80), "denied-133")
    }
}
