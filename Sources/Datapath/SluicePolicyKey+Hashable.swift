public import CSluiceShared

/// `sluice_policy_key` as a dictionary key for `Datapath.syncL3L4`. Declared here, once: no
/// other module may add the same conformance.
extension sluice_policy_key: @retroactive Hashable {
    public static func == (lhs: sluice_policy_key, rhs: sluice_policy_key) -> Bool {
        lhs.endpoint_id == rhs.endpoint_id && lhs.identity == rhs.identity && lhs.port == rhs.port
            && lhs.proto == rhs.proto && lhs.direction == rhs.direction
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint_id)
        hasher.combine(identity)
        hasher.combine(port)
        hasher.combine(proto)
        hasher.combine(direction)
    }
}

/// Compares the meaningful fields (`action`, `proxy_kind`, `policy_ref`); padding is ignored.
extension sluice_policy_value: @retroactive Equatable {
    public static func == (lhs: sluice_policy_value, rhs: sluice_policy_value) -> Bool {
        lhs.action == rhs.action && lhs.proxy_kind == rhs.proxy_kind && lhs.policy_ref == rhs.policy_ref
    }
}

/// `sluice_policy_mode_key` as a dictionary key (padding ignored).
extension sluice_policy_mode_key: @retroactive Hashable {
    public static func == (lhs: sluice_policy_mode_key, rhs: sluice_policy_mode_key) -> Bool {
        lhs.endpoint_id == rhs.endpoint_id && lhs.direction == rhs.direction
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint_id)
        hasher.combine(direction)
    }
}

/// Compares `default_deny`; padding is ignored.
extension sluice_policy_mode: @retroactive Equatable {
    public static func == (lhs: sluice_policy_mode, rhs: sluice_policy_mode) -> Bool {
        lhs.default_deny == rhs.default_deny
    }
}

/// `sluice_ipcache_key` as a dictionary key.
extension sluice_ipcache_key: @retroactive Hashable {
    public static func == (lhs: sluice_ipcache_key, rhs: sluice_ipcache_key) -> Bool {
        lhs.prefixlen == rhs.prefixlen && lhs.ip4 == rhs.ip4
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(prefixlen)
        hasher.combine(ip4)
    }
}

/// Compares the identity and flags.
extension sluice_ipcache_value: @retroactive Equatable {
    public static func == (lhs: sluice_ipcache_value, rhs: sluice_ipcache_value) -> Bool {
        lhs.identity == rhs.identity && lhs.flags == rhs.flags
    }
}

/// `sluice_tuple` as a dictionary key (walking `sluice_ct`).
extension sluice_tuple: @retroactive Hashable {
    public static func == (lhs: sluice_tuple, rhs: sluice_tuple) -> Bool {
        lhs.src_ip4 == rhs.src_ip4 && lhs.dst_ip4 == rhs.dst_ip4 && lhs.src_port == rhs.src_port
            && lhs.dst_port == rhs.dst_port && lhs.proto == rhs.proto
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(src_ip4)
        hasher.combine(dst_ip4)
        hasher.combine(src_port)
        hasher.combine(dst_port)
        hasher.combine(proto)
    }
}
