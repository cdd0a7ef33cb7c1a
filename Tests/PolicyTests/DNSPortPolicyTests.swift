import XCTest

@testable import Policy

/// DNS rules of one port: denies first, L4-only rules before name rules, and who a miss is
/// named after.
final class DNSPortPolicyTests: XCTestCase {
    private let names = Verdict(allowed: true, reason: .ruleMatched, policyName: "ns/names", policyRef: 1)
    private let l4 = Verdict(allowed: true, reason: .l4OnlyAllow, policyName: "ns/l4", policyRef: 2)
    private let deny = Verdict(allowed: false, reason: .deniedByPolicy, policyName: "ns/deny", policyRef: 3)

    private func policy(defaultDeny: Bool = true) -> DNSPortPolicy {
        DNSPortPolicy(
            denies: [(peers: .some([300]), verdict: deny)],
            entries: [
                .init(
                    peers: .some([256, 300]),
                    rules: [FQDNPattern(matchName: "example.com"), FQDNPattern(matchPattern: "*.cilium.io")!],
                    verdict: names),
                .init(peers: .some([257]), rules: nil, verdict: l4),
                .init(peers: .some([258]), rules: [FQDNPattern(matchName: "example.com")], verdict: names),
            ],
            defaultDeny: defaultDeny)
    }

    func testNamesMatchCaseInsensitivelyWithOrWithoutTheTrailingDot() {
        let policy = policy()
        XCTAssertEqual(policy.decide(peerIdentity: 256, qname: "example.com"), names)
        XCTAssertEqual(policy.decide(peerIdentity: 256, qname: "EXAMPLE.com."), names)
        XCTAssertEqual(policy.decide(peerIdentity: 256, qname: "docs.cilium.io"), names)
    }

    func testAMissIsNamedAfterTheFirstPolicySelectingTheServer() {
        XCTAssertEqual(
            policy().decide(peerIdentity: 256, qname: "other.org"),
            Verdict(allowed: false, reason: .noRuleMatched, policyName: "ns/names", policyRef: 1))
    }

    func testDenyBeatsAllowAndL4OnlyAllowsEveryName() {
        let policy = policy()
        XCTAssertEqual(policy.decide(peerIdentity: 300, qname: "example.com"), deny)
        XCTAssertEqual(policy.decide(peerIdentity: 257, qname: "anything.test"), l4)
    }

    func testL4OnlyRulesAreTriedBeforeNameRules() {
        let policy = DNSPortPolicy(
            denies: [],
            entries: [
                .init(peers: .all, rules: [FQDNPattern(matchName: "example.com")], verdict: names),
                .init(peers: .some([256]), rules: nil, verdict: l4),
            ],
            defaultDeny: true)
        XCTAssertEqual(policy.decide(peerIdentity: 256, qname: "example.com"), l4)
        XCTAssertEqual(policy.decide(peerIdentity: 259, qname: "example.com"), names)
    }

    func testUnselectedServers() {
        XCTAssertEqual(policy().decide(peerIdentity: 999, qname: "example.com"), .peerNotAllowed)
        XCTAssertEqual(policy(defaultDeny: false).decide(peerIdentity: 999, qname: "example.com"), .notEnforced)
    }

    /// The query path's decision (`briefDecision`, no policy name copied) carries what `decide`
    /// does for every peer, name and default-deny setting: denies, L4-only, matches, misses,
    /// unselected servers.
    func testBriefDecisionAgreesWithDecide() {
        let qnames = ["example.com.", "EXAMPLE.COM.", "docs.cilium.io.", "a.b.cilium.io.", "other.org.", "."]
        for defaultDeny in [true, false] {
            let policy = policy(defaultDeny: defaultDeny)
            for peer: UInt32 in [256, 257, 258, 300, 999] {
                for qname in qnames {
                    var name = qname
                    let brief = name.withUTF8 {
                        policy.briefDecision(peerIdentity: peer, qname: UnsafeRawBufferPointer($0))
                    }
                    let full = policy.decide(peerIdentity: peer, qname: qname)
                    XCTAssertEqual(brief, BriefVerdict(full), "peer \(peer) \(qname) defaultDeny \(defaultDeny)")
                }
            }
        }
        XCTAssertEqual(
            policy().briefDecision(peerIdentity: 256, qname: UnsafeRawBufferPointer(start: nil, count: 0)),
            BriefVerdict(allowed: false, reason: .noRuleMatched, policyRef: 1))
    }

    func testCanonicalText() {
        XCTAssertEqual(
            policy(defaultDeny: false).canonical,
            [
                "deny from [300] (ns/deny)",
                "allow-all to [257] (ns/l4)",
                "dns [matchName: example.com., matchPattern: *.cilium.io.] to [256, 300] (ns/names)",
                "dns [matchName: example.com.] to [258] (ns/names)",
                "default allow (enableDefaultDeny false)",
            ])
    }
}
