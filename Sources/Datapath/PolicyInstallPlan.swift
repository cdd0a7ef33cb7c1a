public import CSluiceShared
internal import Policy
internal import SluiceModel

/// The order in which one policy install writes the maps, as a list of single-entry writes
/// computed from what the maps hold (`current`) and what they must hold (`target`). Pure: the
/// `Datapath` executes it (`installPolicy`), tests replay it against a model of the tc verdict.
///
/// Every prefix of the list leaves the maps in a state that drops what both the old and the
/// new policy drop, sends through the proxy what both send there, and passes what both pass
/// (the argument is in docs/architecture.md, "Policy updates"):
///
/// 1. **Split added CIDR prefixes.** For a prefix the new ipcache adds, with a node-local CIDR
///    identity that no current ipcache entry has, the policy entries of its current parent's
///    identity (the longest current prefix containing it, or world) are copied to its identity,
///    then the prefix goes into the ipcache. Its addresses keep their verdicts.
/// 2. **New L7 steering** (added and changed `sluice_l7_ports` entries).
/// 3. **Policy entries that are new or change, denies first**, toward the new policy plus, for
///    each removed CIDR prefix, copies of its new parent's entries under its identity.
/// 4. **Other ipcache changes** (pods, host, learned toFQDNs addresses: identities that keep
///    their meaning) — added or changed entries, then removed ones.
/// 5. **Enforcement modes**, new and changed, then removed.
/// 6. **Stale policy entries, allows and redirects first, denies last.**
/// 7. **Removed CIDR prefixes** leave the ipcache (their addresses fall back to a parent whose
///    entries are the same), then their identities' entries go.
/// 8. **Stale L7 steering.**
struct PolicyInstallPlan {
    /// One write: an entry set to a value, or deleted (nil).
    enum Write: Equatable {
        case l7(sluice_l7_key, sluice_l7_value?)
        case policy(sluice_policy_key, sluice_policy_value?)
        case mode(sluice_policy_mode_key, sluice_policy_mode?)
        case ipcache(sluice_ipcache_key, sluice_ipcache_value?)
    }

    /// Node-local CIDR identities (`1<<24 + n`, below the toFQDNs range): the policy compiler
    /// gives each prefix its own, kept across changes, so only these are split and merged.
    static let cidrIdentities: Range<UInt32> = (1 << 24) + 1..<FQDNIdentity.base

    /// The writes in order, each with the write that undoes it (the entry's value before).
    private(set) var steps: [(write: Write, undo: Write)] = []
    /// The writes alone.
    var writes: [Write] { steps.map(\.write) }
    /// The policy map as the writes so far leave it (every other entry is written at most once).
    private var policy: [sluice_policy_key: sluice_policy_value]

    init(from current: PolicyMaps, to target: PolicyMaps) {
        policy = current.policy
        let added = target.ipcache.keys.filter { current.ipcache[$0] == nil }.sorted(by: Self.shorterFirst)
        let removed = current.ipcache.keys.filter { target.ipcache[$0] == nil }.sorted(by: Self.shorterFirst)
        let splits = Self.splittable(added, in: target.ipcache, others: current.ipcache)
        var merges = Self.splittable(removed, in: current.ipcache, others: target.ipcache)
        if !merges.isEmpty {
            let targetIdentities = Set(target.policy.keys.map(\.identity))
            merges.removeAll { targetIdentities.contains(current.ipcache[$0]?.identity ?? 0) }
        }

        // 1. split added CIDR prefixes
        let currentByIdentity = splits.isEmpty ? [:] : Self.byIdentity(current.policy)
        for key in splits {
            guard let identity = target.ipcache[key]?.identity else { continue }
            let parent = Self.parentIdentity(of: key, in: current.ipcache)
            let copies = Self.rekeyed(currentByIdentity[parent] ?? [], to: identity)
            for (k, v) in copies.sorted(by: { Self.order($0.key, $1.key) }) { setPolicy(k, v) }
            // entries an earlier policy left under the identity (none resolve to it yet)
            for (k, _) in (currentByIdentity[identity] ?? []).sorted(by: { Self.order($0.0, $1.0) })
            where copies[k] == nil {
                setPolicy(k, nil)
            }
            steps.append((.ipcache(key, target.ipcache[key]), .ipcache(key, nil)))
        }
        // 2. new L7 steering
        for (key, value) in target.l7Ports.sorted(by: { Self.order($0.key, $1.key) })
        where current.l7Ports[key] != value {
            steps.append((.l7(key, value), .l7(key, current.l7Ports[key])))
        }
        // 3. new and changed policy entries, denies first
        var goal = target.policy
        let targetByIdentity = merges.isEmpty ? [:] : Self.byIdentity(target.policy)
        for key in merges {
            guard let identity = current.ipcache[key]?.identity else { continue }
            let parent = Self.parentIdentity(of: key, in: target.ipcache)
            goal.merge(Self.rekeyed(targetByIdentity[parent] ?? [], to: identity)) { old, _ in old }
        }
        // (policy entries are written in no particular order within a phase: the argument does
        // not need one, and sorting half a million entries would cost more than writing them)
        let changed = goal.filter { policy[$0.key] != $0.value }
        for (key, value) in changed where Self.isDeny(value) { setPolicy(key, value) }
        for (key, value) in changed where !Self.isDeny(value) { setPolicy(key, value) }
        // 4. other ipcache changes
        let splitSet = Set(splits)
        for key in target.ipcache.keys.filter({ !splitSet.contains($0) && current.ipcache[$0] != target.ipcache[$0] })
            .sorted(by: Self.shorterFirst).reversed()
        {
            steps.append((.ipcache(key, target.ipcache[key]), .ipcache(key, current.ipcache[key])))
        }
        let mergeSet = Set(merges)
        for key in removed where !mergeSet.contains(key) {
            steps.append((.ipcache(key, nil), .ipcache(key, current.ipcache[key])))
        }
        // 5. enforcement modes
        for (key, value) in target.modes.sorted(by: { Self.order($0.key, $1.key) }) where current.modes[key] != value {
            steps.append((.mode(key, value), .mode(key, current.modes[key])))
        }
        for key in current.modes.keys.sorted(by: Self.order) where target.modes[key] == nil {
            steps.append((.mode(key, nil), .mode(key, current.modes[key])))
        }
        // 6. stale policy entries, allows and redirects before denies
        let stale = policy.filter { goal[$0.key] == nil }
        for (key, value) in stale where !Self.isDeny(value) { setPolicy(key, nil) }
        for (key, value) in stale where Self.isDeny(value) { setPolicy(key, nil) }
        // 7. removed CIDR prefixes, then their identities' entries
        for key in merges { steps.append((.ipcache(key, nil), .ipcache(key, current.ipcache[key]))) }
        let mergedIdentities = Set(merges.compactMap { current.ipcache[$0]?.identity })
        for key in policy.keys.filter({ mergedIdentities.contains($0.identity) }) {
            setPolicy(key, nil)
        }
        // 8. stale L7 steering
        for key in current.l7Ports.keys.sorted(by: Self.order) where target.l7Ports[key] == nil {
            steps.append((.l7(key, nil), .l7(key, current.l7Ports[key])))
        }
    }

    private mutating func setPolicy(_ key: sluice_policy_key, _ value: sluice_policy_value?) {
        guard policy[key] != value else { return }
        steps.append((.policy(key, value), .policy(key, policy[key])))
        policy[key] = value
    }

    static func isDeny(_ value: sluice_policy_value) -> Bool {
        value.action == UInt8(SLUICE_POLICY_DENY.rawValue)
    }

    /// The prefixes among `keys` whose identity (in `map`) is a CIDR identity that no other
    /// entry of `map` and no entry of `others` has: only those can be split from, or merged
    /// into, their parent without any other address changing its verdict.
    private static func splittable(
        _ keys: [sluice_ipcache_key], in map: [sluice_ipcache_key: sluice_ipcache_value],
        others: [sluice_ipcache_key: sluice_ipcache_value]
    ) -> [sluice_ipcache_key] {
        var uses: [UInt32: Int] = [:]
        for value in map.values { uses[value.identity, default: 0] += 1 }
        let elsewhere = Set(others.values.map(\.identity))
        return keys.filter { key in
            guard let identity = map[key]?.identity else { return false }
            return cidrIdentities.contains(identity) && uses[identity] == 1 && !elsewhere.contains(identity)
        }
    }

    /// The identity tc gives the addresses of `key` when `key` itself is not in `map`: that of
    /// the longest other prefix of `map` containing it, else world.
    static func parentIdentity(of key: sluice_ipcache_key, in map: [sluice_ipcache_key: sluice_ipcache_value]) -> UInt32
    {
        let address = UInt32(bigEndian: key.ip4)
        var best: (length: UInt32, identity: UInt32)?
        for (candidate, value) in map where candidate.prefixlen < key.prefixlen {
            let mask: UInt32 = candidate.prefixlen == 0 ? 0 : UInt32.max << (32 - candidate.prefixlen)
            guard address & mask == UInt32(bigEndian: candidate.ip4) & mask else { continue }
            if best.map({ candidate.prefixlen > $0.length }) ?? true { best = (candidate.prefixlen, value.identity) }
        }
        return best?.identity ?? ReservedIdentity.world  // tc's answer when no prefix matches
    }

    private static func byIdentity(_ map: [sluice_policy_key: sluice_policy_value])
        -> [UInt32: [(sluice_policy_key, sluice_policy_value)]]
    {
        var result: [UInt32: [(sluice_policy_key, sluice_policy_value)]] = [:]
        for (key, value) in map where key.identity != 0 { result[key.identity, default: []].append((key, value)) }
        return result
    }

    private static func rekeyed(_ entries: [(sluice_policy_key, sluice_policy_value)], to identity: UInt32)
        -> [sluice_policy_key: sluice_policy_value]
    {
        var result: [sluice_policy_key: sluice_policy_value] = [:]
        for (key, value) in entries {
            var copy = key
            copy.identity = identity
            result[copy] = value
        }
        return result
    }

    // MARK: a stable order for the small phases

    private static func shorterFirst(_ a: sluice_ipcache_key, _ b: sluice_ipcache_key) -> Bool {
        (a.prefixlen, UInt32(bigEndian: a.ip4)) < (b.prefixlen, UInt32(bigEndian: b.ip4))
    }

    private static func order(_ a: sluice_policy_key, _ b: sluice_policy_key) -> Bool {
        (a.endpoint_id, a.direction, a.identity, a.port, a.proto) < (
            b.endpoint_id, b.direction, b.identity, b.port, b.proto
        )
    }

    private static func order(_ a: sluice_l7_key, _ b: sluice_l7_key) -> Bool {
        (a.endpoint_id, a.direction, a.port, a.proto) < (b.endpoint_id, b.direction, b.port, b.proto)
    }

    private static func order(_ a: sluice_policy_mode_key, _ b: sluice_policy_mode_key) -> Bool {
        (a.endpoint_id, a.direction) < (b.endpoint_id, b.direction)
    }
}
