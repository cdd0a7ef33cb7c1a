import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

/// toFQDNs in the datapath: a toFQDNs rule gives no static allowance (before a lookup nothing in
/// world is allowed), and a learned IP's FQDN identity gets entries exactly on the rule's ports
/// for the endpoints the rule selects, for names its selectors match.
final class FQDNPolicyEntriesTests: XCTestCase {
    private let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: allow-external, namespace: frontend}
        spec:
          endpointSelector: {matchLabels: {app: frontend}}
          egress:
          - toFQDNs:
            - matchName: api.example.com
            - matchPattern: "*.internal.example.com"
            toPorts:
            - ports: [{port: "443"}]
          - toFQDNs:
            - matchName: web.example.com
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules:
                http: [{method: GET}]
        """

    private func compile() throws -> PolicySnapshot {
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "fqdn.yaml")
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
    }

    func testToFQDNsGivesNoStaticAllowanceToWorld() throws {
        let snapshot = try compile()
        XCTAssertEqual(snapshot.policyEnforcement.map(\.description), ["endpoint 1 EGRESS default-deny"])
        let toWorld = snapshot.policyMap.keys.filter {
            $0.identity == 0 || $0.identity == ReservedIdentity.world || $0.identity == ReservedIdentity.worldIPv4
        }
        XCTAssertEqual(toWorld, [], "toFQDNs must not stand for world")
    }

    func testLearnedIPGetsEntriesOnTheRulePortsOnly() throws {
        let snapshot = try compile()
        let identity = FQDNIdentity.base + 7
        let entries = snapshot.fqdnPolicyEntries(identity: identity, names: ["a.internal.example.com."])
        XCTAssertEqual(
            entries.keys.sorted().map { "\($0) \(entries[$0]!)" },
            [
                "endpoint 1 EGRESS to \(identity) 443/TCP allow",
                "endpoint 1 EGRESS to \(identity) 443/UDP allow",
                "endpoint 1 EGRESS to \(identity) 443/SCTP allow",
            ])
        XCTAssertEqual(
            snapshot.fqdnPolicyEntries(identity: identity, names: ["internal.example.com."]), [:],
            "a leading * needs one label (semantics 1.7)")
        XCTAssertEqual(snapshot.fqdnPolicyEntries(identity: identity, names: ["other.example.org."]), [:])
    }

    func testPortWithHTTPRulesIsARedirect() throws {
        let snapshot = try compile()
        let identity = FQDNIdentity.base
        let entries = snapshot.fqdnPolicyEntries(identity: identity, names: ["web.example.com."])
        XCTAssertEqual(
            entries,
            [
                PolicyMapKey(
                    endpointID: 1, identity: identity, port: 80, proto: IPProtocol.tcp,
                    direction: .egress): .redirect(.http)
            ])
    }

    func testHTTPRulesOfAToFQDNsRuleApplyToTheLearnedIdentity() throws {
        let snapshot = try compile()
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 1, direction: .egress, port: 80))
        let identity = FQDNIdentity.base + 3
        XCTAssertTrue(policy.decide(peerIdentity: identity, request: TestRequest("GET", "/")).allowed)
        XCTAssertFalse(policy.decide(peerIdentity: identity, request: TestRequest("POST", "/")).allowed)
        XCTAssertFalse(
            policy.decide(peerIdentity: 256, request: TestRequest("GET", "/")).allowed,
            "a pod is not a toFQDNs peer")
    }

    func testAnIPOfSeveralNamesGetsTheUnion() throws {
        let snapshot = try compile()
        let entries = snapshot.fqdnPolicyEntries(
            identity: FQDNIdentity.base,
            names: ["api.example.com.", "web.example.com."])
        XCTAssertEqual(Set(entries.keys.map(\.port)), [80, 443])
        XCTAssertTrue(snapshot.hasFQDNRule(matching: "x.internal.example.com."))
        XCTAssertFalse(snapshot.hasFQDNRule(matching: "example.com."))
    }

    func testPodAddressesAreInCluster() throws {
        let snapshot = try compile()
        XCTAssertTrue(snapshot.isClusterIPv4(Fixtures.ip(2)))
        XCTAssertFalse(snapshot.isClusterIPv4(UInt32(bigEndian: 0xC000_020A)))
        XCTAssertTrue(FQDNIdentity.contains(FQDNIdentity.base))
        XCTAssertFalse(FQDNIdentity.contains(CIDRIdentityTable.localScope))
    }
}
