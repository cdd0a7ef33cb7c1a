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
        for deny in denies where deny.peers.contains(peerIdentity) { return deny.verdict }
        var selected: Entry?
        for entry in entries where entry.peers.contains(peerIdentity) {
            guard let patterns = entry.rules else { return entry.verdict }
            if selected == nil { selected = entry }
            if patterns.contains(where: matches) { return entry.verdict }
        }
        if let selected { return selected.noMatch }
        return defaultDeny ? .peerNotAllowed : .notEnforced
    }

    /// Canonical text, one line per rule source: `kind [patterns] preposition peers (policy)`.
    func canonicalLines(kind: String, preposition: String) -> [String] {
        Entry.canonical(denies: denies, sources: entries, defaultDeny: defaultDeny) { entry in
            let what = entry.rules.map { kind + " [" + $0.map(\.description).joined(separator: ", ") + "]" }
            return [entry.line(what ?? "allow-all", preposition)]
        }
    }
}
