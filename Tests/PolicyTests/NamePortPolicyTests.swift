import XCTest

@testable import Policy

/// The shared decision of TLS and DNS port policies: deny first, the first L4-only or matching
/// source admits, an unmatched peer selected by names is denied in the first such policy's name,
/// an unselected peer follows the default.
final class NamePortPolicyTests: XCTestCase {
    private func verdict(_ reason: Verdict.Reason, _ name: String) -> Verdict {
        Verdict(allowed: true, reason: reason, policyName: name, policyRef: 3)
    }

    private func policy(defaultDeny: Bool) -> TLSPortPolicy {
        let names = { (texts: [String]) in texts.map { try! ServerNamePattern($0) } }
        return TLSPortPolicy(
            denies: [
                (peers: .some([9]), verdict: Verdict(allowed: false, reason: .deniedByPolicy, policyName: "ns/d"))
            ],
            entries: [
                .init(peers: .some([1, 9]), rules: names(["a.example"]), verdict: verdict(.ruleMatched, "ns/a")),
                .init(peers: .some([1]), rules: names(["*.example"]), verdict: verdict(.ruleMatched, "ns/b")),
                .init(peers: .some([2]), rules: nil, verdict: verdict(.l4OnlyAllow, "ns/l4")),
            ],
            defaultDeny: defaultDeny)
    }

    func testDecide() {
        let p = policy(defaultDeny: true)
        XCTAssertEqual(p.decide(peerIdentity: 9, serverName: "a.example").reason, .deniedByPolicy)
        XCTAssertEqual(p.decide(peerIdentity: 1, serverName: "a.example").policyName, "ns/a")
        XCTAssertEqual(p.decide(peerIdentity: 1, serverName: "x.example").policyName, "ns/b")
        XCTAssertEqual(
            p.decide(peerIdentity: 1, serverName: "other.test"),
            Verdict(allowed: false, reason: .noRuleMatched, policyName: "ns/a", policyRef: 3))
        XCTAssertEqual(p.decide(peerIdentity: 2, serverName: nil).reason, .l4OnlyAllow)
        XCTAssertEqual(p.decide(peerIdentity: 5, serverName: "a.example").reason, .peerNotAllowed)
        XCTAssertEqual(policy(defaultDeny: false).decide(peerIdentity: 5, serverName: nil), .notEnforced)
    }

    /// L4-only sources are listed (and decided) first; the default line comes last.
    func testCanonicalLines() {
        XCTAssertEqual(
            policy(defaultDeny: false).canonicalLines(kind: "names", preposition: "to"),
            [
                "deny from [9] (ns/d)", "allow-all to [2] (ns/l4)", "names [a.example] to [1, 9] (ns/a)",
                "names [*.example] to [1] (ns/b)", "default allow (enableDefaultDeny false)",
            ])
    }
}
