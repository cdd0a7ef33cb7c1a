/// Hands out one numeric security identity per distinct label set, like Cilium's allocator:
/// from 256 upward in first-seen order, never reusing a number while the state is kept.
///
/// Deterministic: the same sequence of label sets always gets the same numbers. `state` maps
/// the canonical label-set key (sorted labels joined by `;`) to the identity, so the agent can
/// save it and restore it across restarts.
public struct IdentityAllocator: Sendable, Equatable {
    /// Canonical label-set key to identity.
    public var state: [String: UInt32]

    /// Starts empty, or from a saved `state`.
    public init(state: [String: UInt32] = [:]) {
        self.state = state
    }

    /// The identity for a set of labels given as strings (`k8s:app=web`), allocating the next
    /// free number when the set is new. Order and duplicates of `labels` do not matter.
    public mutating func identity(forLabels labels: [String]) -> UInt32 {
        let key = Set(labels).sorted().joined(separator: ";")
        if let known = state[key] { return known }
        let next = max(ReservedIdentity.firstAllocated, (state.values.max() ?? 0) &+ 1)
        state[key] = next
        return next
    }

    /// The identity of an endpoint (from its identity labels).
    public mutating func identity(of endpoint: EndpointDescriptor) -> UInt32 {
        identity(forLabels: endpoint.identityLabels.map(\.description))
    }
}
