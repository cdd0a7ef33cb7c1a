import SluiceModel

/// The entities of `fromEntities`/`toEntities` (Cilium pkg/policy/api/entity.go) over the
/// reserved identities (SluiceModel's `ReservedIdentity`, numbered by the shared header).
extension ReservedIdentity {
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
            return .identities(
                [host, remoteNode, initializing, ingress, health, unmanaged, kubeAPIServer],
                endpoints: true)
        default: return nil
        }
    }
}
