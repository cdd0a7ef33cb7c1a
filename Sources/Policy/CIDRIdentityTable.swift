import SluiceModel

/// The node-local CIDR identities of the policies in force: one identity per distinct IPv4
/// prefix named by a `fromCIDR`/`toCIDR`/`*CIDRSet` (`cidr` or `except`) or a NetworkPolicy
/// `ipBlock`, like Cilium's CIDR identities (scope bit 1<<24, semantics 1.2 and 1.3).
///
/// The ipcache maps every prefix to its identity and 0.0.0.0/0 to world; pod addresses are /32
/// entries of their own, so a CIDR rule never selects a pod. A rule `cidr P except E...` selects
/// the identity of every known prefix inside P and not inside any E, plus world when P is /0.
/// Identities come from the agent's `IdentityAllocator` (a prefix keeps its number for as long as
/// the allocator's state is kept; new prefixes are numbered in prefix order), or, without one,
/// are numbered in prefix order. IPv6 prefixes are kept out (the datapath is IPv4 only for now).
/// Immutable; any thread.
struct CIDRIdentityTable: Sendable, Equatable {
    /// An IPv4 prefix, host bits cleared (SluiceModel's one CIDR grammar).
    typealias Prefix = IPv4Prefix

    /// Cilium's local identity scope: CIDR identities are 1<<24 + n.
    static let localScope: UInt32 = 1 << 24

    /// Known prefixes (0.0.0.0/0 excluded: it is world) with their identities, sorted.
    let prefixes: [(prefix: Prefix, identity: UInt32)]

    /// Collects the IPv4 prefixes named by `rules` (allows and denies, both directions),
    /// numbered in prefix order.
    init(rules: [PolicyRule]) {
        var fresh = IdentityAllocator()
        self.init(rules: rules, allocator: &fresh)
    }

    /// Collects the IPv4 prefixes named by `rules` with their identities from `allocator`.
    init(rules: [PolicyRule], allocator: inout IdentityAllocator) {
        let found = Self.prefixes(of: rules).sorted()
        let identities = allocator.cidrIdentities(prefixes: found.map(\.description))
        prefixes = zip(found, identities).map { (prefix: $0, identity: $1) }
    }

    private static func prefixes(of rules: [PolicyRule]) -> Set<Prefix> {
        var found = Set<Prefix>()
        for rule in rules {
            for peerRule in rule.ingress + rule.egress + rule.ingressDeny + rule.egressDeny {
                for cidr in peerRule.peers.cidrs {
                    for text in [cidr.cidr] + cidr.except {
                        if let prefix = Prefix(text), prefix.length > 0 { found.insert(prefix) }
                    }
                }
            }
        }
        return found
    }

    static func == (lhs: CIDRIdentityTable, rhs: CIDRIdentityTable) -> Bool {
        lhs.prefixes.map(\.prefix) == rhs.prefixes.map(\.prefix)
    }

    /// Every CIDR identity (what the `world` entity covers besides the world identities).
    var allIdentities: [UInt32] { prefixes.map(\.identity) }

    /// The identities one CIDR rule selects (see the type's description). Malformed or IPv6
    /// prefixes select nothing.
    func identities(selectedBy rule: CIDRRule) -> Set<UInt32> {
        guard let selected = Prefix(rule.cidr) else { return [] }
        let excepted = rule.except.compactMap { Prefix($0) }
        var result = Set<UInt32>()
        if selected.length == 0, excepted.isEmpty || !excepted.contains(where: { $0.length == 0 }) {
            result.formUnion([ReservedIdentity.world, ReservedIdentity.worldIPv4])
        }
        for (prefix, identity) in prefixes where prefix.isInside(selected) {
            if !excepted.contains(where: { prefix.isInside($0) }) { result.insert(identity) }
        }
        return result
    }
}
