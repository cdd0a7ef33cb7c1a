internal import CSluiceShared

/// Cilium's reserved numeric identities (pkg/identity/numericidentity.go), numbered by
/// bpf/include/sluice_identity.h so the kernel programs and Swift share one list, with their
/// `reserved:` label names.
public enum ReservedIdentity {
    /// The local node, including host-network pods.
    public static let host = UInt32(SLUICE_IDENTITY_HOST)
    /// Everything outside the cluster.
    public static let world = UInt32(SLUICE_IDENTITY_WORLD)
    /// Pods not managed by Cilium.
    public static let unmanaged = UInt32(SLUICE_IDENTITY_UNMANAGED)
    /// Cilium health endpoints.
    public static let health = UInt32(SLUICE_IDENTITY_HEALTH)
    /// Endpoints whose identity is not resolved yet.
    public static let initializing = UInt32(SLUICE_IDENTITY_INIT)
    /// Other nodes of the cluster.
    public static let remoteNode = UInt32(SLUICE_IDENTITY_REMOTE_NODE)
    /// The Kubernetes API server.
    public static let kubeAPIServer = UInt32(SLUICE_IDENTITY_KUBE_APISERVER)
    /// The Cilium Envoy ingress.
    public static let ingress = UInt32(SLUICE_IDENTITY_INGRESS)
    /// IPv4 part of world (dual-stack).
    public static let worldIPv4 = UInt32(SLUICE_IDENTITY_WORLD_IPV4)
    /// IPv6 part of world (dual-stack).
    public static let worldIPv6 = UInt32(SLUICE_IDENTITY_WORLD_IPV6)
    /// First identity handed out for label sets (cluster-local identities start here).
    public static let firstAllocated = UInt32(SLUICE_IDENTITY_FIRST_ALLOCATED)

    /// Reserved identities with their `reserved:` label name, in numeric order.
    public static let all: [(id: UInt32, name: String)] = [
        (host, "host"), (world, "world"), (unmanaged, "unmanaged"), (health, "health"),
        (initializing, "init"), (remoteNode, "remote-node"), (kubeAPIServer, "kube-apiserver"),
        (ingress, "ingress"), (worldIPv4, "world-ipv4"), (worldIPv6, "world-ipv6"),
    ]

    /// The `reserved:` label name of a reserved identity (`world`), or nil for other numbers.
    public static func name(of id: UInt32) -> String? {
        all.first(where: { $0.id == id })?.name
    }

    /// The reserved identity named `name` (`world`), or nil.
    public static func id(named name: String) -> UInt32? {
        all.first(where: { $0.name == name })?.id
    }

    /// The labels of a reserved identity (`reserved:world`), or nil for other numbers.
    public static func labels(of id: UInt32) -> [Label]? {
        guard let name = name(of: id) else { return nil }
        return [Label(source: Label.Source.reserved, key: name, value: "")]
    }
}
