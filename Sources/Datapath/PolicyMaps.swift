public import CSluiceShared
public import Policy

/// The contents of the maps that hold the node's policy: L7 steering (`sluice_l7_ports`), the
/// L3/L4 policy map (`sluice_policy`), enforcement modes (`sluice_policy_mode`) and the ipcache
/// (`sluice_ipcache`). `Datapath.policyMaps()` reads them; `Datapath.installPolicy(_:)` makes
/// the maps equal to a value of this type, in a safe order (`PolicyInstallPlan`).
public struct PolicyMaps: Equatable {
    public var l7Ports: [sluice_l7_key: sluice_l7_value]
    public var policy: [sluice_policy_key: sluice_policy_value]
    public var modes: [sluice_policy_mode_key: sluice_policy_mode]
    public var ipcache: [sluice_ipcache_key: sluice_ipcache_value]

    public init(
        l7Ports: [sluice_l7_key: sluice_l7_value] = [:],
        policy: [sluice_policy_key: sluice_policy_value] = [:],
        modes: [sluice_policy_mode_key: sluice_policy_mode] = [:],
        ipcache: [sluice_ipcache_key: sluice_ipcache_value] = [:]
    ) {
        self.l7Ports = l7Ports
        self.policy = policy
        self.modes = modes
        self.ipcache = ipcache
    }

    /// What the maps must hold for `snapshot`: its L7 ports (unless `l7Ports` says otherwise),
    /// L3/L4 policy, modes and ipcache (with the node's own addresses `hostIPv4`, network order,
    /// as host), plus entries the snapshot does not hold but that must stay (`extraPolicy`,
    /// `extraIPCache`: the learned toFQDNs addresses; the snapshot's own entries win over them).
    public init(
        _ snapshot: PolicySnapshot, l7Ports: [sluice_l7_key: sluice_l7_value]? = nil, hostIPv4: [UInt32],
        extraPolicy: [PolicyMapKey: PolicyMapAction] = [:], extraIPCache: [IPCacheEntry] = []
    ) {
        var policy = Datapath.policyEntries(snapshot.policyMap, owners: snapshot.policyMapOwners)
        policy.merge(Datapath.policyEntries(extraPolicy)) { old, _ in old }
        var ipcache = Datapath.ipcacheEntries(snapshot, hostIPv4: hostIPv4)
        for entry in extraIPCache {
            let key = sluice_ipcache_key(prefixlen: UInt32(entry.prefixLength), ip4: entry.ipv4)
            if ipcache[key] == nil { ipcache[key] = sluice_ipcache_value(identity: entry.identity, flags: 0) }
        }
        self.init(
            l7Ports: l7Ports ?? Self.l7Entries(snapshot), policy: policy, modes: Datapath.modeEntries(snapshot),
            ipcache: ipcache)
    }

    /// `sluice_l7_ports` for `snapshot`: each (endpoint, port, protocol, direction) with L7
    /// rules and the kind of proxy listener it goes to.
    public static func l7Entries(_ snapshot: PolicySnapshot) -> [sluice_l7_key: sluice_l7_value] {
        var entries: [sluice_l7_key: sluice_l7_value] = [:]
        for port in snapshot.l7Ports {
            let key = sluice_l7_key(
                endpoint_id: port.endpointID, port: port.port, proto: port.proto,
                direction: Datapath.direction(port.direction))
            let kind: sluice_proxy_kind
            switch port.kind {
            // TLS SNI ports share the HTTP listener: the connection reads the port's rules at accept.
            case .http, .tls: kind = SLUICE_PROXY_HTTP
            case .dns: kind = port.proto == IPProtocol.udp ? SLUICE_PROXY_DNS_UDP : SLUICE_PROXY_DNS_TCP
            }
            entries[key] = sluice_l7_value(kind: UInt8(kind.rawValue), _pad: (0, 0, 0), _reserved: 0)
        }
        return entries
    }
}
