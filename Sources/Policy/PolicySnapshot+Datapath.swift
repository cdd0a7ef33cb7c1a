import SluiceModel

/// The L3/L4 policy of a snapshot as the datapath needs it: the policy map, the enforcement of
/// each (endpoint, direction) and the ipcache (see `docs/architecture.md`, "L3/L4 policy").
///
/// Semantics (cilium-semantics.md sections 1 and 2): an (endpoint, direction) some rule selects
/// is enforced, default deny unless every such rule says `enableDefaultDeny: false`; allows of
/// CNP, CCNP and NetworkPolicy are a union; deny entries beat every allow; identity 0 / port 0 are
/// the wildcard keys; allows on ports with L7 rules are redirects; the host may always reach its
/// pods (allow-localhost).
extension PolicySnapshot {
    /// Every policy map entry, sorted by key.
    public var policyMapEntries: [(key: PolicyMapKey, action: PolicyMapAction)] {
        l3l4.entries.sorted { $0.key < $1.key }.map { (key: $0.key, action: $0.value) }
    }

    /// The policy map as a dictionary (what `Datapath.syncPolicy` writes).
    public var policyMap: [PolicyMapKey: PolicyMapAction] { l3l4.entries }

    /// The policy (`PolicyKey.ref`) each `policyMap` entry came from; absent for entries no
    /// policy wrote. The datapath copies it into policy-verdict and explicit-deny records.
    public var policyMapOwners: [PolicyMapKey: UInt32] { l3l4.owners }

    /// The (endpoint, direction) pairs that have policy, sorted; the others pass everything.
    public var policyEnforcement: [PolicyEnforcement] { l3l4.enforcement }

    /// The ipcache: each endpoint's /32 with its identity (pods of other nodes too), each policy CIDR with its CIDR
    /// identity, the API server's addresses as kube-apiserver (7), `hostIPv4` addresses (network
    /// order) as host (1), and 0.0.0.0/0 as world (2).
    /// A pod address always wins over a CIDR /32 naming it (CIDR rules never select pods).
    public func ipcacheEntries(hostIPv4: [UInt32] = []) -> [IPCacheEntry] {
        var byPrefix: [UInt64: IPCacheEntry] = [:]
        func put(_ entry: IPCacheEntry) {
            byPrefix[UInt64(entry.ipv4) << 8 | UInt64(entry.prefixLength)] = entry
        }
        put(IPCacheEntry(ipv4: 0, prefixLength: 0, identity: ReservedIdentity.world))
        for (prefix, identity) in l3l4.cidrs.prefixes {
            put(IPCacheEntry(ipv4: prefix.address.networkOrder, prefixLength: prefix.length, identity: identity))
        }
        for ip in l3l4.kubeAPIServerIPv4 {
            put(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: ReservedIdentity.kubeAPIServer))
        }
        for (ip, identity) in l3l4.remoteIPv4 {
            put(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: identity))
        }
        for ip in hostIPv4 {
            put(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: ReservedIdentity.host))
        }
        for endpoint in endpoints {
            put(IPCacheEntry(ipv4: endpoint.ipv4, prefixLength: 32, identity: identity(ofIPv4: endpoint.ipv4)))
        }
        return byPrefix.values.sorted()
    }

    /// Pods of other nodes compiled in (`PolicyRepository.remoteEndpoints`): address (network
    /// order) to identity.
    public var remoteIdentities: [UInt32: UInt32] { l3l4.remoteIPv4 }

    /// The CIDR identities with the labels Hubble prints for them (`cidr:10.0.0.0/8`,
    /// `reserved:world`), sorted by identity.
    public var cidrIdentities: [(identity: UInt32, labels: [String])] {
        l3l4.cidrs.prefixes.map {
            (identity: $0.identity, labels: ["cidr:" + $0.prefix.description, "reserved:world"])
        }
    }

    /// The canonical text of the L3/L4 policy: enforcement, then every entry, then the ipcache
    /// without host addresses. Stable across runs; used by tests and dumps.
    public func canonicalL3L4Dump() -> String {
        var lines = ["enforcement:"]
        lines += policyEnforcement.map { "  \($0)" }
        lines.append("policy:")
        lines += policyMapEntries.map { "  \($0.key) \($0.action)" }
        lines.append("ipcache:")
        lines += ipcacheEntries().map { "  \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }
}
