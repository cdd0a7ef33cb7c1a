public import CSluiceShared

/// `sluice_policy_key` as a dictionary key for `Datapath.syncL3L4`. Declared here, once: no
/// other module may add the same conformance.
extension sluice_policy_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(endpoint_id, identity, port, proto, direction) }
}

/// Compares the meaningful fields (`action`, `proxy_kind`, `policy_ref`); padding is ignored.
extension sluice_policy_value: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(action, proxy_kind, policy_ref) }
}

/// `sluice_policy_mode_key` as a dictionary key (padding ignored).
extension sluice_policy_mode_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(endpoint_id, direction) }
}

/// Compares `default_deny`; padding is ignored.
extension sluice_policy_mode: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(default_deny) }
}

/// `sluice_ipcache_key` as a dictionary key.
extension sluice_ipcache_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(prefixlen, ip4) }
}

/// Compares the identity and flags.
extension sluice_ipcache_value: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(identity, flags) }
}

/// `sluice_tuple` as a dictionary key (walking `sluice_ct`).
extension sluice_tuple: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(src_ip4, dst_ip4, src_port, dst_port, proto) }
}
