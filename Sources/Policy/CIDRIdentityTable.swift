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
    /// An IPv4 prefix; `address` in host byte order with the host bits cleared.
    struct Prefix: Hashable, Comparable, Sendable {
        var address: UInt32
        var length: UInt8

        /// The mask of the prefix length, host order.
        var mask: UInt32 { length == 0 ? 0 : UInt32.max << (32 - UInt32(length)) }

        /// Whether every address of `self` lies inside `other`.
        func isInside(_ other: Prefix) -> Bool {
            length >= other.length && address & other.mask == other.address
        }

        static func < (lhs: Prefix, rhs: Prefix) -> Bool {
            (lhs.address, lhs.length) < (rhs.address, rhs.length)
        }

        /// Parses `a.b.c.d/n` or a bare `a.b.c.d` (= /32); nil for IPv6 or malformed text.
        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let first = parts.first else { return nil }
            let octets = first.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4 else { return nil }
            var value: UInt32 = 0
            for octet in octets {
                guard let byte = UInt8(octet) else { return nil }
                value = value << 8 | UInt32(byte)
            }
            var length: UInt8 = 32
            if parts.count == 2 {
                guard let parsed = UInt8(parts[1]), parsed <= 32 else { return nil }
                length = parsed
            }
            self.init(address: value, length: length)
        }

        init(address: UInt32, length: UInt8) {
            self.length = length
            self.address = 0
            self.address = address & mask
        }

        /// `10.0.0.0/8`.
        var text: String {
            "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)/\(length)"
        }
    }

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
        let identities = allocator.cidrIdentities(prefixes: found.map(\.text))
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
