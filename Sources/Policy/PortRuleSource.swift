import SluiceModel

/// One rule source of a port's L7 policy (HTTP rules, TLS `serverNames` or DNS patterns): the
/// peers it selects, its rules (nil: no L7 part, L4-only: it admits everything its peers send) and
/// the verdict when it admits. `HTTPPortPolicy`, `TLSPortPolicy` and `DNSPortPolicy` hold these.
struct PortRuleSource<Rule: Sendable>: Sendable {
    var peers: PeerSet
    /// nil = L4-only. For HTTP, the policy's own array (shared with the document in force, not
    /// copied per snapshot).
    var rules: [Rule]?
    /// Returned when the source admits: `l4-only-allow` when `rules` is nil, else `rule-matched`,
    /// naming the source's policy.
    var verdict: Verdict

    /// The denial when the peer is selected by this source's rules but none matched: names the
    /// policy whose rules the request, connection or query failed.
    var noMatch: Verdict {
        Verdict(
            allowed: false, reason: .noRuleMatched, policyName: verdict.policyName, policyRef: verdict.policyRef)
    }

    /// `sources` with the L4-only ones first, so the cheap decision is found without matching rules.
    static func l4OnlyFirst(_ sources: [Self]) -> [Self] {
        sources.filter { $0.rules == nil } + sources.filter { $0.rules != nil }
    }

    /// Canonical text of one port's policy, for dumps and tests: a line per deny, the `lines` of
    /// each source, `extra`, then `default allow` when the port has no default deny.
    static func canonical(
        denies: [(peers: PeerSet, verdict: Verdict)], sources: [Self], extra: [String] = [], defaultDeny: Bool,
        lines: (Self) -> [String]
    ) -> [String] {
        var text = denies.map { "deny from \($0.peers.canonical) (\($0.verdict.policyName ?? "-"))" }
        for source in sources { text += lines(source) }
        text += extra
        if !defaultDeny { text.append("default allow (enableDefaultDeny false)") }
        return text
    }

    /// `what from [256] (ns/policy)`: one canonical line of this source (`preposition`: `to` for
    /// DNS servers).
    func line(_ what: String, _ preposition: String = "from") -> String {
        "\(what) \(preposition) \(peers.canonical) (\(verdict.policyName ?? "-"))"
    }

    /// The sources of one port's compiled rules, from `covering` (the rule entries covering it):
    /// denies apart, a host source first when `allowHost` (ingress allow-localhost, Cilium's
    /// `hostWildcardL7`), and per allow entry its `rules` (nil: L4-only).
    static func compile(
        _ covering: [PolicyCompiler.PortEntry], allowHost: Bool, rules: (PolicyCompiler.PortEntry) -> [Rule]?
    ) -> (denies: [(peers: PeerSet, verdict: Verdict)], sources: [Self]) {
        var denies: [(peers: PeerSet, verdict: Verdict)] = []
        var sources: [Self] = []
        if allowHost {
            sources.append(
                Self(
                    peers: .some([ReservedIdentity.host]), rules: nil,
                    verdict: Verdict(allowed: true, reason: .l4OnlyAllow, policyName: nil)))
        }
        for entry in covering {
            if entry.isDeny {
                denies.append((entry.peers, entry.verdict(allowed: false, .deniedByPolicy)))
            } else if let found = rules(entry) {
                sources.append(
                    Self(peers: entry.peers, rules: found, verdict: entry.verdict(allowed: true, .ruleMatched)))
            } else {
                sources.append(
                    Self(peers: entry.peers, rules: nil, verdict: entry.verdict(allowed: true, .l4OnlyAllow)))
            }
        }
        return (denies, sources)
    }
}

/// What decided a port's first-match walk (`HTTPPortPolicy`, `NamePortPolicy`), as positions in
/// its `denies` / `entries`: the walk without copying a verdict (a verdict's policy name and header
/// actions are reference-counted).
enum PortDecision {
    case deny(Int)
    case admit(Int)
    /// The first entry whose rules select the peer; none of its (or later) rules matched.
    case noMatch(Int)
    case peerNotAllowed
    case notEnforced

    /// The decision's allowed, reason and policy reference, read field by field in place
    /// (`BriefVerdict(verdict)` would take a copy of the stored verdict).
    @inline(__always)
    func brief<Rule>(denies: [(peers: PeerSet, verdict: Verdict)], entries: [PortRuleSource<Rule>]) -> BriefVerdict {
        switch self {
        case .deny(let i):
            return BriefVerdict(
                allowed: denies[i].verdict.allowed, reason: denies[i].verdict.reason,
                policyRef: denies[i].verdict.policyRef)
        case .admit(let i):
            return BriefVerdict(
                allowed: entries[i].verdict.allowed, reason: entries[i].verdict.reason,
                policyRef: entries[i].verdict.policyRef)
        case .noMatch(let i):
            return BriefVerdict(allowed: false, reason: .noRuleMatched, policyRef: entries[i].verdict.policyRef)
        case .peerNotAllowed:
            return BriefVerdict(allowed: false, reason: .peerNotAllowed, policyRef: 0)
        case .notEnforced:
            return BriefVerdict(allowed: true, reason: .l4OnlyAllow, policyRef: 0)
        }
    }
}
