public import CSluiceShared

/// `sluice_endpoint_key` as a dictionary key (walking `sluice_endpoints`).
extension sluice_endpoint_key: @retroactive Hashable {
    public static func == (lhs: sluice_endpoint_key, rhs: sluice_endpoint_key) -> Bool {
        lhs.ip4 == rhs.ip4
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ip4)
    }
}

/// `sluice_veth_key` as a dictionary key (walking `sluice_veths`).
extension sluice_veth_key: @retroactive Hashable {
    public static func == (lhs: sluice_veth_key, rhs: sluice_veth_key) -> Bool {
        lhs.ifindex == rhs.ifindex
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ifindex)
    }
}

/// Compares every field.
extension sluice_endpoint_info: @retroactive Equatable {
    public static func == (lhs: sluice_endpoint_info, rhs: sluice_endpoint_info) -> Bool {
        lhs.id == rhs.id && lhs.identity == rhs.identity && lhs.ifindex == rhs.ifindex && lhs.flags == rhs.flags
    }
}
