/// Cilium's reserved numeric identities (pkg/identity/numericidentity.go) and the entities of
/// `fromEntities`/`toEntities` (pkg/policy/api/entity.go).
public enum ReservedIdentity {
    /// The local node, including host-network pods.
    public static let host: UInt32 = 1
    /// Everything outside the cluster.
    public static let world: UInt32 = 2
    /// Pods not managed by Cilium.
    public static let unmanaged: UInt32 = 3
    /// Cilium health endpoints.
    public static let health: UInt32 = 4
    /// Endpoints whose identity is not resolved yet.
    public static let initializing: UInt32 = 5
    /// Other nodes of the cluster.
    public static let remoteNode: UInt32 = 6
    /// The Kubernetes API server.
    public static let kubeAPIServer: UInt32 = 7
    /// The Cilium Envoy ingress.
    public static let ingress: UInt32 = 8
    /// IPv4 part of world (dual-stack).
    public static let worldIPv4: UInt32 = 9
    /// IPv6 part of world (dual-stack).
    public static let worldIPv6: UInt32 = 10
    /// First identity handed out for label sets (cluster-local identities start here).
    public static let firstAllocated: UInt32 = 256

    /// Reserved identities with their `reserved:` label name, in numeric order.
    static let all: [(id: UInt32, name: String)] = [
        (host, "host"), (world, "world"), (unmanaged, "unmanaged"), (health, "health"),
        (initializing, "init"), (remoteNode, "remote-node"), (kubeAPIServer, "kube-apiserver"),
        (ingress, "ingress"), (worldIPv4, "world-ipv4"), (worldIPv6, "world-ipv6"),
    ]

    /// The labels of a reserved identity (`reserved:world`), or nil for other numbers.
    static func labels(of id: UInt32) -> [Label]? {
        guard let entry = all.first(where: { $0.id == id }) else { return nil }
        return [Label(source: Label.Source.reserved, key: entry.name, value: "")]
    }

    /// What one entity of `fromEntities`/`toEntities` selects.
    enum EntitySelection: Equatable {
        /// `all`: every identity, world and host included.
        case everything
        /// The listed reserved identities, plus every cluster endpoint when `endpoints` is set.
        case identities([UInt32], endpoints: Bool)
    }

    /// The selection of entity `name`, or nil for an unknown entity.
    static func entity(_ name: String) -> EntitySelection? {
        switch name {
        case "all": return .everything
        case "world": return .identities([world, worldIPv4, worldIPv6], endpoints: false)
        case "world-ipv4": return .identities([worldIPv4], endpoints: false)
        case "world-ipv6": return .identities([worldIPv6], endpoints: false)
        case "host": return .identities([host], endpoints: false)
        case "remote-node": return .identities([remoteNode], endpoints: false)
        case "kube-apiserver": return .identities([kubeAPIServer], endpoints: false)
        case "health": return .identities([health], endpoints: false)
        case "init": return .identities([initializing], endpoints: false)
        case "ingress": return .identities([ingress], endpoints: false)
        case "unmanaged": return .identities([unmanaged], endpoints: false)
        case "none": return .identities([], endpoints: false)
        case "cluster":
            // Cilium: the reserved cluster identities plus every pod of this cluster.
            return .identities([host, remoteNode, initializing, ingress, health, unmanaged, kubeAPIServer],
                               endpoints: true)
        default: return nil
        }
    }
}
