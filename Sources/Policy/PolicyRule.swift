import SluiceModel

/// One Cilium rule (`spec` or one of `specs`, or a translated NetworkPolicy), with its
/// selectors already carrying the namespace Cilium adds.
struct PolicyRule: Sendable, Equatable {
    /// `endpointSelector` (nil for a CCNP `nodeSelector` rule, which selects no pod).
    var subject: LabelSelector?
    /// `nodeSelector` of a host policy (kept; Sluice has no host endpoint yet).
    var nodeSelector: LabelSelector?
    var ingress: [PeerRule]
    var egress: [PeerRule]
    /// `ingressDeny`/`egressDeny`: L3/L4 only; kept for the datapath stage.
    var ingressDeny: [PeerRule]
    var egressDeny: [PeerRule]
    /// Whether a selected endpoint goes default-deny in each direction (Cilium's Sanitize:
    /// explicit `enableDefaultDeny`, else true when the rule has rules for that direction).
    var defaultDenyIngress: Bool
    var defaultDenyEgress: Bool
    var description: String?
}

/// The peers a rule names. No L3 field at all means every peer (an L4-only rule).
struct PeerSelection: Sendable, Equatable {
    /// `fromEndpoints`/`toEndpoints` (or KNP pod/namespace selectors).
    var endpoints: [LabelSelector] = []
    /// `fromEntities`/`toEntities`.
    var entities: [String] = []
    /// `fromCIDR`, `fromCIDRSet`, `toCIDR`, `toCIDRSet`, KNP `ipBlock` (cidr, except).
    var cidrs: [CIDRRule] = []
    /// `toFQDNs`.
    var fqdns: [FQDNSelector] = []
    /// `toServices` as written (kept, not resolved).
    var services: Int = 0
    /// Set when the source explicitly means "everyone" (KNP empty `from`).
    var explicitlyEveryone = false
    /// Set when the rule selects no peer at all (Cilium): an empty rule `{}` (no L3 field and
    /// no `toPorts`: it only turns default deny on, semantics 1.10 and `ingress: [{}]`), or L3
    /// fields given only as empty lists (`fromEntities: []`; cilium api/ingress.go
    /// SetAggregatedSelectors: "empty non-nil slices ... should not result in any identity
    /// being selected").
    var selectsNothing = false

    /// True when the rule names no peer, so it applies to every identity.
    var isWildcard: Bool {
        !selectsNothing
            && (explicitlyEveryone
                || (endpoints.isEmpty && entities.isEmpty && cidrs.isEmpty && fqdns.isEmpty && services == 0))
    }
}

/// A CIDR peer with its exceptions.
struct CIDRRule: Sendable, Hashable {
    var cidr: String
    var except: [String]
}

/// One `ingress[]`/`egress[]` (or deny) entry: peers AND ports.
struct PeerRule: Sendable, Equatable {
    var peers: PeerSelection
    /// Empty = all ports (an L3-only rule).
    var toPorts: [PortRule]
}
