/// The DNS rules in force for one (endpoint, egress port, protocol): `rules.dns` selectors of
/// every policy, per DNS-server peer, ORed. Immutable; any thread.
public typealias DNSPortPolicy = NamePortPolicy<FQDNPattern>

extension NamePortPolicy where Pattern == FQDNPattern {
    /// Decides a query for `qname` (lower-cased FQDN with trailing dot, as bytes) sent to a
    /// server of identity `peerIdentity`. Only the first question is checked; qtype is ignored.
    /// A query no rule matched is denied in the name of the first policy whose rules select the
    /// server.
    public func decide(peerIdentity: UInt32, qname: UnsafeRawBufferPointer) -> Verdict {
        decide(peerIdentity: peerIdentity) { $0.matches(qname) }
    }

    /// `decide` without the policy name (nothing reference-counted copied): the proxy's query
    /// path. Same allowed, reason and policy reference as `decide` (`DNSPortPolicyTests`).
    public func briefDecision(peerIdentity: UInt32, qname: UnsafeRawBufferPointer) -> BriefVerdict {
        briefDecision(peerIdentity: peerIdentity) { $0.matches(qname) }
    }

    /// Convenience for tests and tools.
    public func decide(peerIdentity: UInt32, qname: String) -> Verdict {
        var name = FQDNPattern.normalise(qname)
        return name.withUTF8 { decide(peerIdentity: peerIdentity, qname: UnsafeRawBufferPointer($0)) }
    }

    /// Canonical text, one line per rule source.
    var canonical: [String] { canonicalLines(kind: "dns", preposition: "to") }
}
