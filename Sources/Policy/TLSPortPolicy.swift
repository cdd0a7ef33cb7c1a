/// The `serverNames` rules in force for one (endpoint, direction, TCP port): every rule of every
/// policy that covers the port, per peer, ORed as Cilium does. A rule with `serverNames` admits a
/// connection whose TLS ClientHello names a matching SNI (`ServerNamePattern`); a rule without
/// them (L4-only) admits every connection of its peers. A connection without SNI (an IP-literal
/// HTTPS request, or bytes that are not TLS) matches no `serverNames` entry. Immutable; any thread.
public final class TLSPortPolicy: @unchecked Sendable {
    /// One rule source: the peers it selects and its server names (nil: L4-only, admits all).
    struct Entry: Sendable {
        var peers: PeerSet
        var serverNames: [ServerNamePattern]?
        /// The verdict when this entry admits the connection.
        var verdict: Verdict

        /// The denial when the peer is selected by this entry but its SNI matched no name.
        var noMatch: Verdict {
            Verdict(
                allowed: false, reason: .noRuleMatched, policyName: verdict.policyName,
                policyRef: verdict.policyRef)
        }
    }

    let denies: [(peers: PeerSet, verdict: Verdict)]
    /// L4-only entries first: the cheap decision is found without matching names.
    let entries: [Entry]
    let defaultDeny: Bool

    init(denies: [(peers: PeerSet, verdict: Verdict)], entries: [Entry], defaultDeny: Bool) {
        self.denies = denies
        self.entries = entries.filter { $0.serverNames == nil } + entries.filter { $0.serverNames != nil }
        self.defaultDeny = defaultDeny
    }

    /// Decides one connection from `peerIdentity` (the source identity on ingress, the
    /// destination identity on egress) whose ClientHello carried `serverName` (lower-case, no
    /// trailing dot; nil: no SNI or not TLS). Unmatched: denied in the name of the first policy
    /// whose `serverNames` select the peer.
    public func decide(peerIdentity: UInt32, serverName: String?) -> Verdict {
        for deny in denies where deny.peers.contains(peerIdentity) { return deny.verdict }
        var selected: Entry?
        for entry in entries where entry.peers.contains(peerIdentity) {
            guard let names = entry.serverNames else { return entry.verdict }
            if selected == nil { selected = entry }
            if names.contains(where: { $0.matches(serverName) }) { return entry.verdict }
        }
        if let selected { return selected.noMatch }
        return defaultDeny ? .peerNotAllowed : .notEnforced
    }

    /// Canonical text, one line per rule source, for dumps and tests.
    var canonical: [String] {
        var lines = denies.map { "deny from \($0.peers.canonical) (\($0.verdict.policyName ?? "-"))" }
        for entry in entries {
            let what = entry.serverNames.map { "serverNames [" + $0.map(\.description).joined(separator: ", ") + "]" }
            lines.append(
                "\(what ?? "allow-all") from \(entry.peers.canonical) (\(entry.verdict.policyName ?? "-"))")
        }
        if !defaultDeny { lines.append("default allow (enableDefaultDeny false)") }
        return lines
    }
}
