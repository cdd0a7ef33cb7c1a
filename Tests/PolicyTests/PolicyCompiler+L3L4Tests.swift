import SluiceModel
import XCTest

@testable import Policy

/// The compiler's L3/L4 stage: datapath peers (CIDR identities, not world), policy map entries
/// with deny over allow, redirects on L7 ports, owners, allow-localhost and toFQDNs rules.
final class PolicyCompilerL3L4Tests: XCTestCase {
    private let ref = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "p").ref
    private let denyRef = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "d").ref

    private func l3l4(_ yaml: String, allowLocalhost: AllowLocalhost = .always) throws -> L3L4Policy {
        var compiler = try PolicyCompilerTests.compiler(yaml)
        compiler.allowLocalhost = allowLocalhost
        return compiler.build().l3l4
    }

    private func key(_ identity: UInt32, _ port: UInt16, _ proto: UInt8, _ direction: Direction = .ingress)
        -> PolicyMapKey
    {
        PolicyMapKey(endpointID: 2, identity: identity, port: port, proto: proto, direction: direction)
    }

    func testDatapathPeersAreCIDRIdentitiesNotWorld() throws {
        let compiler = try PolicyCompilerTests.compiler(
            Fixtures.cnp(
                selector: "{}",
                spec: """
                    egress: [{toCIDR: [10.0.0.0/8, 192.0.2.0/24]}]
                    """))
        let scope = CIDRIdentityTable.localScope
        let tenNet = PeerSelection(cidrs: [CIDRRule(cidr: "10.0.0.0/8", except: [])])
        XCTAssertEqual(compiler.datapathPeers(tenNet), .some([scope + 1]))
        XCTAssertEqual(
            compiler.datapathPeers(PeerSelection(entities: ["world"])),
            .of([ReservedIdentity.world, ReservedIdentity.worldIPv4, ReservedIdentity.worldIPv6, scope + 1, scope + 2]),
            "the world entity covers every CIDR identity")
        XCTAssertEqual(compiler.datapathPeers(PeerSelection(entities: ["all"])), .all)
        XCTAssertEqual(compiler.datapathPeers(PeerSelection()), .all)
        XCTAssertEqual(compiler.datapathPeers(PeerSelection(selectsNothing: true)), .some([]))
        XCTAssertEqual(
            compiler.datapathPeers(PeerSelection(fqdns: [FQDNSelector(pattern: FQDNPattern(matchName: "a.com"))])),
            .some([]), "toFQDNs peers get their entries at run time")
    }

    func testEntriesDenyBeatsAllowAndL7PortsRedirect() throws {
        let policy = try l3l4(
            Fixtures.cnp(
                spec: """
                    ingress:
                    - fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': frontend}}]
                      toPorts:
                      - ports: [{port: "80", protocol: TCP}]
                        rules: {http: [{}]}
                      - ports: [{port: "7000", endPort: 7001, protocol: UDP}]
                    """) + "\n---\n"
                + Fixtures.cnp(
                    "d",
                    spec: """
                        ingressDeny:
                        - fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': frontend}}]
                          toPorts: [{ports: [{port: "7001", protocol: UDP}]}]
                        """), allowLocalhost: .policy)
        XCTAssertEqual(
            policy.entries,
            [
                key(256, 80, 6): .redirect(.http), key(256, 7000, 17): .allow, key(256, 7001, 17): .deny,
            ])
        XCTAssertEqual(policy.owners, [key(256, 80, 6): ref, key(256, 7000, 17): ref, key(256, 7001, 17): denyRef])
        XCTAssertEqual(
            policy.enforcement, [PolicyEnforcement(endpointID: 2, direction: .ingress, defaultDeny: true)])
    }

    func testAllowLocalhostAndL3OnlyEntries() throws {
        let policy = try l3l4(
            Fixtures.cnp(
                spec: """
                    ingress: [{fromEntities: [all]}]
                    """))
        let protocols = L4Protocol.everyIPProtocol
        var expected: [PolicyMapKey: PolicyMapAction] = [:]
        for proto in protocols {
            expected[key(0, 0, proto)] = .allow
            expected[key(ReservedIdentity.host, 0, proto)] = .allow
        }
        XCTAssertEqual(policy.entries, expected)
        XCTAssertEqual(policy.owners.count, protocols.count, "allow-localhost entries have no owner")
    }

    func testToFQDNsRulesKeepTheirPortsAndRedirects() throws {
        let policy = try l3l4(
            Fixtures.cnp(
                spec: """
                    egress:
                    - toFQDNs: [{matchName: api.example.com}]
                      toPorts:
                      - ports: [{port: "443", protocol: TCP}]
                      - ports: [{port: "80", protocol: TCP}]
                        rules: {http: [{}]}
                    """))
        XCTAssertEqual(policy.fqdnRules.count, 2)
        XCTAssertEqual(policy.fqdnRules.map(\.endpointID), [2, 2])
        XCTAssertEqual(
            policy.fqdnRules.map { $0.patterns.map(\.description) },
            [["matchName: api.example.com."], ["matchName: api.example.com."]])
        let ports = policy.fqdnRules.flatMap(\.ports).map { "\($0.port)/\($0.proto) \($0.action)" }.sorted()
        XCTAssertEqual(ports, ["443/6 allow", "80/6 redirect http"])
        XCTAssertEqual(policy.entries.keys.filter { $0.direction == .egress }, [], "no static entries before a lookup")
    }
}
