/// The DNS rules in force for one (endpoint, egress port, protocol): `rules.dns` selectors of
/// every policy, per DNS-server peer, ORed. Immutable; any thread.
public final class DNSPortPolicy: @unchecked Sendable {
    /// One rule source: the server identities it selects and its patterns (nil = L4-only).
    struct Entry: Sendable {
        var peers: PeerSet
        var patterns: [FQDNPattern]?
        var verdict: Verdict
    }

    let denies: [(peers: PeerSet, verdict: Verdict)]
    let entries: [Entry]
    let defaultDeny: Bool

    init(denies: [(peers: PeerSet, verdict: Verdict)], entries: [Entry], defaultDeny: Bool) {
        self.denies = denies
        self.entries = entries.filter { $0.patterns == nil } + entries.filter { $0.patterns != nil }
        self.defaultDeny = defaultDeny
    }

    /// Decides a query for `qname` (lower-cased FQDN with trailing dot, as bytes) sent to a
    /// server of identity `peerIdentity`. Only the first question is checked; qtype is ignored.
    /// A query no rule matched is denied in the name of the first policy whose rules select the
    /// server.
    public func decide(peerIdentity: UInt32, qname: UnsafeRawBufferPointer) -> Verdict {
        for deny in denies where deny.peers.contains(peerIdentity) {
            return deny.verdict
        }
        var selected: Entry?
        for entry in entries where entry.peers.contains(peerIdentity) {
            guard let patterns = entry.patterns else { return entry.verdict }
            if selected == nil { selected = entry }
            for pattern in patterns where pattern.matches(qname) {
                return entry.verdict
            }
        }
        if let selected {
            // Named after the first policy whose DNS rules select the server (like HTTPPortPolicy).
            return Verdict(
                allowed: false, reason: .noRuleMatched, policyName: selected.verdict.policyName,
                policyRef: selected.verdict.policyRef)
        }
        return defaultDeny ? .peerNotAllowed : .notEnforced
    }

    /// Convenience for tests and tools.
    public func decide(peerIdentity: UInt32, qname: String) -> Verdict {
        var name = FQDNPattern.normalise(qname)
        return name.withUTF8 { decide(peerIdentity: peerIdentity, qname: UnsafeRawBufferPointer($0)) }
    }

    /// Canonical text, one line per rule source.
    var canonical: [String] {
        var lines = denies.map { "deny from \($0.peers.canonical) (\($0.verdict.policyName ?? "-"))" }
        for entry in entries {
            let what =
                entry.patterns.map { "dns [" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "allow-all"
            lines.append("\(what) to \(entry.peers.canonical) (\(entry.verdict.policyName ?? "-"))")
        }
        if !defaultDeny { lines.append("default allow (enableDefaultDeny false)") }
        return lines
    }
}
