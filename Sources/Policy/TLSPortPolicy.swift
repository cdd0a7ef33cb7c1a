/// The `serverNames` rules in force for one (endpoint, direction, TCP port). A rule with
/// `serverNames` admits a connection whose TLS ClientHello names a matching SNI
/// (`ServerNamePattern`); a rule without them (L4-only) admits every connection of its peers. A
/// connection without SNI (an IP-literal HTTPS request, or bytes that are not TLS) matches no
/// `serverNames` entry. Immutable; any thread.
public typealias TLSPortPolicy = NamePortPolicy<ServerNamePattern>

extension NamePortPolicy where Pattern == ServerNamePattern {
    /// Decides one connection from `peerIdentity` (the source identity on ingress, the
    /// destination identity on egress) whose ClientHello carried `serverName` (lower-case, no
    /// trailing dot; nil: no SNI or not TLS). Unmatched: denied in the name of the first policy
    /// whose `serverNames` select the peer.
    public func decide(peerIdentity: UInt32, serverName: String?) -> Verdict {
        decide(peerIdentity: peerIdentity) { $0.matches(serverName) }
    }

    /// Canonical text, one line per rule source, for dumps and tests.
    var canonical: [String] { canonicalLines(kind: "serverNames", preposition: "from") }
}
