import Synchronization

/// The kinds of policy object Sluice accepts.
public enum PolicyKind: String, Sendable, Hashable, Comparable, CaseIterable {
    /// `cilium.io/v2` CiliumNetworkPolicy (namespaced).
    case ciliumNetworkPolicy = "CiliumNetworkPolicy"
    /// `cilium.io/v2` CiliumClusterwideNetworkPolicy.
    case ciliumClusterwideNetworkPolicy = "CiliumClusterwideNetworkPolicy"
    /// `networking.k8s.io/v1` NetworkPolicy.
    case networkPolicy = "NetworkPolicy"

    /// The resource name kubectl prints: `ciliumnetworkpolicy.cilium.io`.
    public var resourceName: String {
        switch self {
        case .ciliumNetworkPolicy: return "ciliumnetworkpolicy.cilium.io"
        case .ciliumClusterwideNetworkPolicy: return "ciliumclusterwidenetworkpolicy.cilium.io"
        case .networkPolicy: return "networkpolicy.networking.k8s.io"
        }
    }

    /// Whether objects of this kind live in a namespace.
    public var isNamespaced: Bool { self != .ciliumClusterwideNetworkPolicy }

    /// Orders by declaration order.
    public static func < (lhs: PolicyKind, rhs: PolicyKind) -> Bool {
        let order = allCases
        return (order.firstIndex(of: lhs) ?? 0) < (order.firstIndex(of: rhs) ?? 0)
    }
}

/// Identifies a policy object, like kubectl does: kind, namespace ("" when cluster-wide), name.
public struct PolicyKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Object kind.
    public var kind: PolicyKind
    /// Namespace; empty for cluster-wide policies.
    public var namespace: String
    /// `metadata.name`.
    public var name: String

    /// Creates a key.
    public init(kind: PolicyKind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = kind.isNamespaced ? namespace : ""
        self.name = name
    }

    /// `ns/name` for namespaced policies, `name` for cluster-wide ones (how verdicts name them).
    public var policyName: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }

    /// `ciliumnetworkpolicy.cilium.io/backend/backend-http-rules`.
    public var description: String { "\(kind.resourceName)/\(policyName)" }

    /// A stable 32-bit name of the object for flow records (a record has no room for the names):
    /// FNV-1a of `Kind/namespace/name`, never 0 (0 means "no policy"). The same object gets the
    /// same number in every process and after a restart; the agent's endpoint directory maps it
    /// back to kind, namespace and name for `sluice observe`.
    public var ref: UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in kind.rawValue.utf8 + [0x2F] + namespace.utf8 + [0x2F] + name.utf8 {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return hash == 0 ? 1 : hash
    }

    /// Orders by kind, namespace, name.
    public static func < (lhs: PolicyKey, rhs: PolicyKey) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// One validated policy object: its key and its rules (a KNP becomes one rule). Public as
/// `PolicyFileParser.Output`'s element (its key only); the rest stays internal.
public struct PolicyDocument: Sendable {
    public internal(set) var key: PolicyKey
    var rules: [PolicyRule]
    /// Where it came from, for listings.
    var file: String
    var line: Int
    /// Names these `rules`: a new number for every parse, kept when an apply sets the same
    /// rules again (`PolicyRepository.prepareApply` then keeps the rules in force), so the
    /// compiler reuses what it compiled from them (`PolicyCompiler.Cache`).
    var revision = PolicyDocument.newRevision()

    private static let revisions = Atomic<UInt64>(0)

    static func newRevision() -> UInt64 { revisions.add(1, ordering: .relaxed).newValue }
}
