import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Policy

/// `serverNames` compiled into a port's TLS policy and decided per SNI as Cilium 1.18+ does:
/// case-insensitive; exact without `*`; `*` any name; `*.x` one label; `**.x` one or more; `*`
/// inside a label; no SNI never matches. Rules ORed per peer; deny first; L4-only allows all.
final class TLSPortPolicyTests: XCTestCase {
    private let client = EndpointDescriptor(
        id: 7, namespace: "default", podName: "client", podLabels: ["app": "client"],
        ipv4: UInt32(bigEndian: 0x0A00_0007))

    private func snapshot(_ toPorts: String, extra: String = "") throws -> PolicySnapshot {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: sni, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress:
              - toEntities: [world]
                toPorts:
            \(toPorts)
            \(extra)
            """
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "sni.yaml")
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: [client], allocator: &allocator)
    }

    private func policy(_ names: [String]) throws -> TLSPortPolicy {
        let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
        let s = try snapshot("    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\(list)]")
        return try XCTUnwrap(s.tlsPolicy(endpointID: 7, direction: .egress, port: 443))
    }

    private func allows(_ policy: TLSPortPolicy, _ name: String?) -> Bool {
        policy.decide(peerIdentity: ReservedIdentity.world, serverName: name).allowed
    }

    func testCompiledAsATLSPortSteeredToTheProxy() throws {
        let s = try snapshot("    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"api.example.com\"]")
        XCTAssertEqual(s.l7Ports.map(\.description), ["endpoint 7 EGRESS 443/TCP tls"])
        XCTAssertNil(s.httpPolicy(endpointID: 7, direction: .egress, port: 443))
        XCTAssertTrue(
            s.canonicalDump().contains(
                "  endpoint 7 EGRESS 443/TCP tls\n    serverNames [api.example.com] from [2, 9, 10] (default/sni)\n"),
            s.canonicalDump())
    }

    func testExactNamesCompareWithoutCase() throws {
        let p = try policy(["API.Example.com"])
        XCTAssertTrue(allows(p, "api.example.com"))
        XCTAssertTrue(allows(p, "API.EXAMPLE.COM"))
        XCTAssertFalse(allows(p, "www.api.example.com"))
        XCTAssertFalse(allows(p, "example.com"))
        XCTAssertFalse(allows(p, "api.example.co"))
    }

    func testStarAloneMatchesEveryNameButNotNoSNI() throws {
        let p = try policy(["*"])
        XCTAssertTrue(allows(p, "anything.example"))
        XCTAssertTrue(allows(p, "x"))
        XCTAssertFalse(allows(p, nil), "a connection without SNI never matches")
    }

    func testStarLabelIsExactlyOneLabel() throws {
        let p = try policy(["*.example.com"])
        XCTAssertTrue(allows(p, "api.example.com"))
        XCTAssertFalse(allows(p, "a.b.example.com"))
        XCTAssertFalse(allows(p, "example.com"))
    }

    func testDoubleStarIsOneOrMoreLabels() throws {
        let p = try policy(["**.example.com"])
        XCTAssertTrue(allows(p, "api.example.com"))
        XCTAssertTrue(allows(p, "a.b.c.example.com"))
        XCTAssertFalse(allows(p, "example.com"))
        XCTAssertFalse(allows(p, "example.org"))
    }

    func testStarInsideALabel() throws {
        let p = try policy(["api-*.example.com"])
        XCTAssertTrue(allows(p, "api-v2.example.com"))
        XCTAssertTrue(allows(p, "api-.example.com"))
        XCTAssertFalse(allows(p, "web-v2.example.com"))
        XCTAssertFalse(allows(p, "api-v2.x.example.com"))
    }

    func testNoSNIIsDeniedByTheSelectingPolicy() throws {
        let p = try policy(["api.example.com"])
        let verdict = p.decide(peerIdentity: ReservedIdentity.world, serverName: nil)
        XCTAssertEqual(verdict.reason, .noRuleMatched)
        XCTAssertEqual(verdict.policyName, "default/sni")
        XCTAssertFalse(verdict.allowed)
        let allowed = p.decide(peerIdentity: ReservedIdentity.world, serverName: "api.example.com")
        XCTAssertEqual(allowed.reason, .ruleMatched)
    }

    func testAPeerNoRuleSelectsIsNotAllowed() throws {
        let p = try policy(["api.example.com"])
        let verdict = p.decide(peerIdentity: 424_242, serverName: "api.example.com")
        XCTAssertEqual(verdict.reason, .peerNotAllowed)
    }

    func testRulesAreORedAndAnL4OnlyRuleAllowsEveryName() throws {
        let two = try snapshot(
            "    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"a.example\"]\n"
                + "    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"b.example\"]")
        let p = try XCTUnwrap(two.tlsPolicy(endpointID: 7, direction: .egress, port: 443))
        XCTAssertTrue(allows(p, "a.example"))
        XCTAssertTrue(allows(p, "b.example"))
        XCTAssertFalse(allows(p, "c.example"))
        let l4 = try snapshot(
            "    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"a.example\"]\n"
                + "    - ports: [{port: \"443\", protocol: TCP}]")
        let q = try XCTUnwrap(l4.tlsPolicy(endpointID: 7, direction: .egress, port: 443))
        XCTAssertTrue(allows(q, "c.example"))
        XCTAssertTrue(allows(q, nil), "an L4-only rule on the port admits connections without SNI too")
    }

    func testDenyRuleWins() throws {
        let s = try snapshot(
            "    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"*\"]",
            extra: "  egressDeny:\n  - toEntities: [world]\n    toPorts:\n    - ports: [{port: \"443\", protocol: TCP}]"
        )
        let p = try XCTUnwrap(s.tlsPolicy(endpointID: 7, direction: .egress, port: 443))
        XCTAssertEqual(p.decide(peerIdentity: ReservedIdentity.world, serverName: "a.example").reason, .deniedByPolicy)
    }

    func testServerNamesAndHTTPRulesOnOnePortAreAConflict() throws {
        let s = try snapshot(
            "    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"a.example\"]\n"
                + "    - ports: [{port: \"443\", protocol: TCP}]\n      rules: {http: [{method: GET}]}")
        XCTAssertEqual(s.diagnostics.count, 1)
        XCTAssertTrue(
            s.diagnostics[0].description.contains("rules.http and serverNames on the same port"),
            s.diagnostics[0].description)
    }

    func testTransitionKeepsTheOldTLSRulesOfAPortThatLostThem() throws {
        let old = try snapshot("    - ports: [{port: \"443\", protocol: TCP}]\n      serverNames: [\"a.example\"]")
        let new = try snapshot("    - ports: [{port: \"80\", protocol: TCP}]")
        XCTAssertNil(new.tlsPolicy(endpointID: 7, direction: .egress, port: 443))
        XCTAssertNotNil(new.transition(from: old).tlsPolicy(endpointID: 7, direction: .egress, port: 443))
    }

    /// proxy-config/examples/tls/sni-egress.yaml as a truth table.
    func testExampleSNIEgress() throws {
        let s = try PolicyFixtures.compile([try PolicyFixtures.example("tls/sni-egress.yaml")])
        let p = try XCTUnwrap(s.tlsPolicy(endpointID: 1, direction: .egress, port: 443))
        let cases: [(String?, Bool)] = [
            ("api.example.com", true), ("API.EXAMPLE.COM", true), ("www.api.example.com", false),
            ("a.internal.example", true), ("a.b.internal.example", true), ("internal.example", false),
            ("evil.example.com", false), (nil, false),
        ]
        for (name, allowed) in cases {
            XCTAssertEqual(allows(p, name), allowed, name ?? "no SNI")
        }
        XCTAssertTrue(s.l7Ports.contains { $0.description == "endpoint 1 EGRESS 443/TCP tls" })
    }

    /// `sluice policy get` lists the names with the port rule.
    func testListingShowsServerNames() throws {
        let repository = PolicyRepository()
        try repository.apply(yamlText: try PolicyFixtures.example("tls/sni-egress.yaml"), fileName: "sni.yaml")
        XCTAssertTrue(
            repository.listing().contains("ports: [443/TCP] serverNames: [api.example.com, **.internal.example]"),
            repository.listing())
    }
}
