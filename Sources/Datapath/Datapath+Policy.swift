internal import CLibbpf
public import CSluiceShared
public import Policy

#if canImport(Glibc)
    internal import Glibc
    internal import SluiceModel
#endif

/// The L3/L4 policy in the datapath: writing a snapshot's policy map, enforcement flags and
/// ipcache into the pinned maps (`sluice_policy`, `sluice_policy_mode`, `sluice_ipcache`), and
/// attaching `sluice_tc_to_endpoint` to the clsact egress of each endpoint's host-side veth.
///
/// Call from the agent's control thread (like attach/detach).
extension Datapath {
    static let toEndpointProgramName = "sluice_tc_to_endpoint"

    /// Makes the L3/L4 maps equal to `snapshot`'s policy (L7 steering stays as it is), in the
    /// order of `PolicyInstallPlan`, which never passes what both the old and the new policy
    /// drop and never drops what both pass; on a failed write the maps are restored and the
    /// error is a `PolicyInstallError` (`installPolicy`).
    /// `hostIPv4` (network order) are the node's own addresses (identity host).
    /// `extraPolicy` and `extraIPCache` are entries the snapshot does not hold but that must stay
    /// (the learned toFQDNs IPs: `FQDNIdentity` /32s and their policy entries).
    public func syncL3L4(
        _ snapshot: PolicySnapshot, hostIPv4: [UInt32],
        extraPolicy: [PolicyMapKey: PolicyMapAction] = [:], extraIPCache: [IPCacheEntry] = []
    ) throws {
        let target = PolicyMaps(
            snapshot, l7Ports: try l7Ports(), hostIPv4: hostIPv4, extraPolicy: extraPolicy,
            extraIPCache: extraIPCache)
        _ = try installPolicy(target)
    }

    /// The current contents of `sluice_policy` (walks the map: two syscalls per entry).
    public func policyMapContents() throws -> [sluice_policy_key: sluice_policy_value] {
        try dumpMap(
            try tcObject.mapFD(named: "sluice_policy"), "sluice_policy", key: sluice_policy_key(),
            value: sluice_policy_value())
    }

    /// Policy map entries as kernel structs.
    static func policyEntries(
        _ map: [PolicyMapKey: PolicyMapAction], owners: [PolicyMapKey: UInt32] = [:]
    ) -> [sluice_policy_key: sluice_policy_value] {
        var result: [sluice_policy_key: sluice_policy_value] = [:]
        result.reserveCapacity(map.count)
        for (key, action) in map {
            let k = sluice_policy_key(
                endpoint_id: key.endpointID, identity: key.identity, port: key.port,
                proto: key.proto, direction: direction(key.direction))
            var value = sluice_policy_value()
            value.policy_ref = owners[key] ?? 0
            switch action {
            case .allow:
                value.action = UInt8(SLUICE_POLICY_ALLOW.rawValue)
            case .deny:
                value.action = UInt8(SLUICE_POLICY_DENY.rawValue)
            case .redirect(let kind):
                value.action = UInt8(SLUICE_POLICY_REDIRECT.rawValue)
                let proxy =
                    kind != .dns
                    ? SLUICE_PROXY_HTTP
                    : key.proto == IPProtocol.udp ? SLUICE_PROXY_DNS_UDP : SLUICE_PROXY_DNS_TCP
                value.proxy_kind = UInt8(proxy.rawValue)
            }
            result[k] = value
        }
        return result
    }

    static func modeEntries(_ snapshot: PolicySnapshot) -> [sluice_policy_mode_key: sluice_policy_mode] {
        var result: [sluice_policy_mode_key: sluice_policy_mode] = [:]
        for mode in snapshot.policyEnforcement {
            var key = sluice_policy_mode_key()
            key.endpoint_id = mode.endpointID
            key.direction = direction(mode.direction)
            var value = sluice_policy_mode()
            value.default_deny = mode.defaultDeny ? 1 : 0
            result[key] = value
        }
        return result
    }

    static func ipcacheEntries(_ snapshot: PolicySnapshot, hostIPv4: [UInt32])
        -> [sluice_ipcache_key: sluice_ipcache_value]
    {
        var result: [sluice_ipcache_key: sluice_ipcache_value] = [:]
        for entry in snapshot.ipcacheEntries(hostIPv4: hostIPv4) {
            result[sluice_ipcache_key(prefixlen: UInt32(entry.prefixLength), ip4: entry.ipv4)] =
                sluice_ipcache_value(identity: entry.identity, flags: 0)
        }
        return result
    }

    /// `enum sluice_direction` of a policy direction.
    static func direction(_ direction: Direction) -> UInt8 {
        direction.traffic.cValue
    }

    // MARK: map walking

    func upsert<K: Hashable & BitwiseCopyable, V: Equatable & BitwiseCopyable>(
        _ fd: Int32, _ name: String, _ entries: [K: V],
        current: [K: V]
    ) throws {
        for (key, value) in entries where current[key] != value {
            var k = key
            var v = value
            try DatapathError.checkMapCall(
                bpf_map_update_elem(fd, &k, &v, UInt64(BPF_ANY)), "bpf_map_update_elem", name)
        }
    }

    func deleteStale<K: Hashable & BitwiseCopyable, V>(_ fd: Int32, _ name: String, keep: [K: V], current: [K: V])
        throws
    {
        for key in current.keys where keep[key] == nil {
            var k = key
            try deleteTolerant(fd, &k, name)
        }
    }

    /// Every entry of a map (two syscalls per entry). `key`/`value` are zero values of the types.
    func dumpMap<K: Hashable & BitwiseCopyable, V: BitwiseCopyable>(_ fd: Int32, _ name: String, key: K, value: V)
        throws -> [K: V]
    {
        var result: [K: V] = [:]
        var current = key
        var next = key
        var hasKey = false
        while true {
            let status = hasKey ? bpf_map_get_next_key(fd, &current, &next) : bpf_map_get_next_key(fd, nil, &next)
            if status < 0 {
                let error = status == -1 ? Glibc.errno : -status
                if error == ENOENT { return result }
                throw DatapathError(call: "bpf_map_get_next_key", errno: error, context: name)
            }
            var found = value
            if bpf_map_lookup_elem(fd, &next, &found) == 0 {
                result[next] = found
            }
            current = next
            hasKey = true
        }
    }
}
