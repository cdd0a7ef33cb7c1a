internal import CLibbpf
public import CSluiceShared
public import Policy

#if canImport(Glibc)
    internal import Glibc
#endif

/// Incremental writes for learned toFQDNs IPs (between two full `syncL3L4` runs). The
/// connection-tracking question the FQDN sweep asks is in `Datapath+Conntrack`. Callers serialise these with `syncL3L4`
/// (the agent's `FQDNPolicyWriter` holds one lock around both).
extension Datapath {
    /// Writes policy entries (new or changed).
    public func writePolicyEntries(_ entries: [PolicyMapKey: PolicyMapAction]) throws {
        guard !entries.isEmpty else { return }
        try upsert(
            try tcObject.mapFD(named: "sluice_policy"), "sluice_policy", Datapath.policyEntries(entries),
            current: [:])
    }

    /// Deletes policy entries; absent ones are not an error.
    public func deletePolicyEntries(_ keys: [PolicyMapKey]) throws {
        guard !keys.isEmpty else { return }
        let stale = Datapath.policyEntries(Dictionary(keys.map { ($0, PolicyMapAction.allow) }) { a, _ in a })
        try deleteStale(try tcObject.mapFD(named: "sluice_policy"), "sluice_policy", keep: [:], current: stale)
    }

    /// Sets one ipcache prefix to `identity`.
    public func writeIPCache(_ entry: IPCacheEntry) throws {
        defer { steeringEpoch.changed() }
        var key = sluice_ipcache_key(prefixlen: UInt32(entry.prefixLength), ip4: entry.ipv4)
        var value = sluice_ipcache_value(identity: entry.identity, flags: 0)
        try DatapathError.checkMapCall(
            bpf_map_update_elem(try tcObject.mapFD(named: "sluice_ipcache"), &key, &value, UInt64(BPF_ANY)),
            "bpf_map_update_elem", "sluice_ipcache")
    }

    /// Removes one ipcache prefix (the address falls back to the next shorter prefix, or world).
    public func deleteIPCache(ipv4: UInt32, prefixLength: UInt8) throws {
        defer { steeringEpoch.changed() }
        let key = sluice_ipcache_key(prefixlen: UInt32(prefixLength), ip4: ipv4)
        try deleteStale(
            try tcObject.mapFD(named: "sluice_ipcache"), "sluice_ipcache", keep: [:],
            current: [key: sluice_ipcache_value()])
    }

    /// Every ipcache entry (pinned, so it holds what an earlier run wrote).
    public func ipcacheContents() throws -> [IPCacheEntry] {
        let map = try dumpMap(
            try tcObject.mapFD(named: "sluice_ipcache"), "sluice_ipcache",
            key: sluice_ipcache_key(), value: sluice_ipcache_value())
        return map.map {
            IPCacheEntry(ipv4: $0.key.ip4, prefixLength: UInt8($0.key.prefixlen), identity: $0.value.identity)
        }
        .sorted()
    }
}
