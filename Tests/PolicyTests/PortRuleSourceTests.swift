import XCTest

@testable import Policy

final class PortRuleSourceTests: XCTestCase {
    private typealias Source = PortRuleSource<String>

    private func verdict(_ reason: Verdict.Reason, _ name: String?) -> Verdict {
        Verdict(allowed: true, reason: reason, policyName: name, policyRef: name == nil ? 0 : 7)
    }

    /// L4-only sources go first, each group in its given order.
    func testL4OnlyFirstKeepsOrderWithinGroups() {
        let sources = [
            Source(peers: .all, rules: ["a"], verdict: verdict(.ruleMatched, "p/a")),
            Source(peers: .some([1]), rules: nil, verdict: verdict(.l4OnlyAllow, "p/b")),
            Source(peers: .some([2]), rules: ["c"], verdict: verdict(.ruleMatched, "p/c")),
            Source(peers: .some([3]), rules: nil, verdict: verdict(.l4OnlyAllow, "p/d")),
        ]
        XCTAssertEqual(Source.l4OnlyFirst(sources).map(\.verdict.policyName), ["p/b", "p/d", "p/a", "p/c"])
    }

    /// The denial names the source's policy and reference.
    func testNoMatchNamesThePolicy() {
        let source = Source(peers: .all, rules: ["a"], verdict: verdict(.ruleMatched, "ns/p"))
        XCTAssertEqual(
            source.noMatch, Verdict(allowed: false, reason: .noRuleMatched, policyName: "ns/p", policyRef: 7))
    }

    /// Denies, source lines, extra lines, then the default allow line.
    func testCanonicalOrder() {
        let deny = Verdict(allowed: false, reason: .deniedByPolicy, policyName: "ns/deny")
        let sources = [
            Source(peers: .some([256, 257]), rules: ["x", "y"], verdict: verdict(.ruleMatched, "ns/p")),
            Source(peers: .all, rules: nil, verdict: verdict(.l4OnlyAllow, nil)),
        ]
        let lines = Source.canonical(
            denies: [(peers: .some([9]), verdict: deny)], sources: sources, extra: ["tls"], defaultDeny: false
        ) { source in
            source.rules.map { $0.map { source.line("r \($0)") } } ?? [source.line("allow-all", "to")]
        }
        XCTAssertEqual(
            lines,
            [
                "deny from [9] (ns/deny)", "r x from [256, 257] (ns/p)", "r y from [256, 257] (ns/p)",
                "allow-all to * (-)", "tls", "default allow (enableDefaultDeny false)",
            ])
        XCTAssertEqual(Source.canonical(denies: [], sources: [], defaultDeny: true) { _ in [] }, [])
    }
}
