import SluiceModel

/// The decision for one request or query. Values are built when the snapshot is compiled, so
/// returning one copies references only and never allocates.
public struct Verdict: Sendable, Equatable, CustomStringConvertible {
    /// Why the decision was taken.
    public enum Reason: UInt8, Sendable, Equatable, CustomStringConvertible {
        /// An L7 rule (HTTP or DNS) selecting the peer matched.
        case ruleMatched
        /// A rule selecting the peer on this port has no L7 part (L4-only or L3-only, from any
        /// policy), so everything passes, still through the proxy (Cilium 1.10 rule 5). Also used,
        /// with no policy name, when no rule selecting the endpoint asks for default deny.
        case l4OnlyAllow
        /// Rules select the peer on this port, but none matched.
        case noRuleMatched
        /// No rule allows this peer on this port: drop the connection like an L3/L4 deny.
        case peerNotAllowed
        /// An `ingressDeny`/`egressDeny` rule covers this peer and port: deny beats every allow.
        case deniedByPolicy

        /// `rule-matched`, `l4-only-allow`, `no-rule-matched`, `peer-not-allowed`, `denied-by-policy`.
        public var description: String {
            switch self {
            case .ruleMatched: return "rule-matched"
            case .l4OnlyAllow: return "l4-only-allow"
            case .noRuleMatched: return "no-rule-matched"
            case .peerNotAllowed: return "peer-not-allowed"
            case .deniedByPolicy: return "denied-by-policy"
            }
        }
    }

    /// Whether the request may pass.
    public var allowed: Bool
    /// Why.
    public var reason: Reason
    /// `ns/name` (or `name` for cluster-wide policies) of the policy whose rule decided.
    public var policyName: String?
    /// `PolicyKey.ref` of that policy (what L7 flow records carry); 0 when no policy decided.
    public var policyRef: UInt32 = 0
    /// `headerMatches` entries with a mismatch action of every rule that matched, in rule order
    /// (cilium/proxy runs all rules when any has them); the proxy applies each one whose header
    /// does not match (LOG, ADD, DELETE, REPLACE). Usually empty.
    public var headerActions: [HTTPHeaderAction] = []

    /// `allow rule-matched backend/backend-http-rules`.
    public var description: String {
        (allowed ? "allow " : "deny ") + reason.description + (policyName.map { " " + $0 } ?? "")
    }

    static let peerNotAllowed = Verdict(allowed: false, reason: .peerNotAllowed, policyName: nil)
    static let noRuleMatched = Verdict(allowed: false, reason: .noRuleMatched, policyName: nil)
    static let notEnforced = Verdict(allowed: true, reason: .l4OnlyAllow, policyName: nil)
}

/// The peers a compiled rule applies to: every identity, or a sorted list (binary search).
enum PeerSet: Sendable, Equatable {
    case all
    case some([UInt32])

    /// Builds a set from unsorted identities.
    static func of(_ identities: Set<UInt32>) -> PeerSet { .some(identities.sorted()) }

    /// O(log n) membership; never allocates. A node-local identity (CIDR `1<<24 + n` or a learned
    /// toFQDNs IP, both labelled `reserved:world` in Cilium) is also a member when world is: the
    /// L7 stage resolves `toCIDR`/`toFQDNs` peers to world, while the datapath hands the proxy
    /// the address's own identity. The L3/L4 entries already confine such a rule to its CIDRs and
    /// names; on a port where two such rules carry different L7 rules, both apply to either.
    func contains(_ identity: UInt32) -> Bool {
        switch self {
        case .all:
            return true
        case .some(let sorted):
            if Self.search(sorted, identity) { return true }
            return identity >= CIDRIdentityTable.localScope && Self.search(sorted, ReservedIdentity.world)
        }
    }

    private static func search(_ sorted: [UInt32], _ identity: UInt32) -> Bool {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < identity { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == identity
    }

    /// `*` or `[256, 257]`.
    var canonical: String {
        switch self {
        case .all: return "*"
        case .some(let sorted): return "[" + sorted.map(String.init).joined(separator: ", ") + "]"
        }
    }
}
