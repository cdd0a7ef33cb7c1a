/// The name rules in force for one (endpoint, direction, port): every rule of every policy that
/// covers the port, per peer, ORed as Cilium does. A rule with names admits what carries a
/// matching name; a rule without them (L4-only) admits everything of its peers. Deny rules are
/// checked first. One shape for two name kinds: TLS `serverNames` against the ClientHello's SNI
/// (`TLSPortPolicy`) and `rules.dns` patterns against the query name (`DNSPortPolicy`).
/// Immutable; any thread.
public final class NamePortPolicy<Pattern: Sendable & CustomStringConvertible>: @unchecked Sendable {
    /// One rule source: the peers it selects and its name patterns (nil: L4-only, admits all).
    typealias Entry = PortRuleSource<Pattern>

    let denies: [(peers: PeerSet, verdict: Verdict)]
    /// L4-only entries first: the cheap decision is found without matching names.
    let entries: [Entry]
    /// False when no rule selecting the endpoint asks for default deny (`enableDefaultDeny`).
    let defaultDeny: Bool

    init(denies: [(peers: PeerSet, verdict: Verdict)], entries: [Entry], defaultDeny: Bool) {
        self.denies = denies
        self.entries = Entry.l4OnlyFirst(entries)
        self.defaultDeny = defaultDeny
    }

    /// Decides for `peerIdentity` (the source identity on ingress, the destination identity on
    /// egress) by `matches` (whether a pattern admits the name at hand). Unmatched: denied in
    /// the name of the first policy whose names select the peer.
    @inline(__always)
    func decide(peerIdentity: UInt32, matches: (Pattern) -> Bool) -> Verdict {
        switch decision(peerIdentity: peerIdentity, matches: matches) {
        case .deny(let i): return denies[i].verdict
        case .admit(let i): return entries[i].verdict
        case .noMatch(let i): return entries[i].noMatch
        case .peerNotAllowed: return .peerNotAllowed
        case .notEnforced: return .notEnforced
        }
    }

    /// `decide`'s walk. Entries are read in place by index (`for entry in entries` copied each
    /// one, retaining its peer list, patterns and policy name: 2-3 % of a DNS query's CPU).
    @inline(__always)
    func decision(peerIdentity: UInt32, matches: (Pattern) -> Bool) -> PortDecision {
        for i in denies.indices where denies[i].peers.contains(peerIdentity) { return .deny(i) }
        var selected = -1
        for i in entries.indices where entries[i].peers.contains(peerIdentity) {
            guard entries[i].rules != nil else { return .admit(i) }
            if selected < 0 { selected = i }
            if entries[i].rules!.contains(where: matches) { return .admit(i) }
        }
        if selected >= 0 { return .noMatch(selected) }
        return defaultDeny ? .peerNotAllowed : .notEnforced
    }

    /// `decide`'s allowed, reason and policy reference only: nothing reference-counted is copied.
    @inline(__always)
    func briefDecision(peerIdentity: UInt32, matches: (Pattern) -> Bool) -> BriefVerdict {
        decision(peerIdentity: peerIdentity, matches: matches).brief(denies: denies, entries: entries)
    }

    /// Canonical text, one line per rule source: `kind [patterns] preposition peers (policy)`.
    func canonicalLines(kind: String, preposition: String) -> [String] {
        Entry.canonical(denies: denies, sources: entries, defaultDeny: defaultDeny) { entry in
            let what = entry.rules.map { kind + " [" + $0.map(\.description).joined(separator: ", ") + "]" }
            return [entry.line(what ?? "allow-all", preposition)]
        }
    }
}

/// A `Verdict` without its policy name and header actions: what the DNS query path reads of a
/// decision (allowed, reason, the policy's reference for the flow record). Trivial: copying it
/// retains nothing.
public struct BriefVerdict: Sendable, Equatable {
    public var allowed: Bool
    public var reason: Verdict.Reason
    public var policyRef: UInt32

    public init(allowed: Bool, reason: Verdict.Reason, policyRef: UInt32) {
        self.allowed = allowed
        self.reason = reason
        self.policyRef = policyRef
    }

    /// The brief form of `verdict`.
    public init(_ verdict: Verdict) {
        self.init(allowed: verdict.allowed, reason: verdict.reason, policyRef: verdict.policyRef)
    }
}
