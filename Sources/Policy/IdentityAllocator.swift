import SluiceModel

/// Hands out one numeric security identity per distinct label set, like Cilium's allocator:
/// from 256 upward in first-seen order, never reusing a number while the state is kept. CIDR
/// prefixes get node-local identities (`1<<24 + n`, n from 1) the same way, so a prefix keeps
/// its identity across policy changes and an identity never names another prefix (the order
/// of policy map writes relies on it: docs/architecture.md, "Policy updates").
///
/// Deterministic: the same sequence of label sets always gets the same numbers. `state` maps
/// the canonical label-set key (sorted labels joined by `;`), or `cidr:` and the prefix, to the
/// identity, so the agent can save it and restore it across restarts.
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
        let highest = state.values.lazy.filter { $0 < CIDRIdentityTable.localScope }.max() ?? 0
        let next = max(ReservedIdentity.firstAllocated, highest &+ 1)
        state[key] = next
        return next
    }

    /// Takes numbers given elsewhere (the cluster-wide allocator) for label sets: each set gets
    /// its number, and a set this allocator had numbered with one of those numbers loses it (the
    /// cluster's numbering wins). CIDR identities are untouched.
    public mutating func adopt(_ identities: [[String]: UInt32]) {
        let taken = Set(identities.values)
        state = state.filter { !taken.contains($0.value) || $0.key.hasPrefix(Self.cidrKeyPrefix) }
        for (labels, identity) in identities {
            state[Set(labels).sorted().joined(separator: ";")] = identity
        }
    }

    /// The CIDR identities of IPv4 prefixes given as text (`10.0.0.0/8`), allocating the next
    /// free `1<<24 + n` for each new one in the order given. One pass over the state per call.
    mutating func cidrIdentities(prefixes: [String]) -> [UInt32] {
        var next: UInt32?
        return prefixes.map { prefix in
            let key = Self.cidrKeyPrefix + prefix
            if let known = state[key] { return known }
            let identity =
                next
                ?? max(
                    CIDRIdentityTable.localScope + 1,
                    (state.values.lazy.filter { $0 > CIDRIdentityTable.localScope }.max() ?? 0) &+ 1)
            next = identity &+ 1
            state[key] = identity
            return identity
        }
    }

    /// Keys of CIDR identities in `state` start with this (no label set does: labels carry a
    /// source such as `k8s:` or `reserved:`).
    static let cidrKeyPrefix = "cidr:"

    /// The identity of an endpoint (from its identity labels).
    public mutating func identity(of endpoint: EndpointDescriptor) -> UInt32 {
        identity(forLabels: endpoint.identityLabels.map(\.description))
    }
}
