public import CSluiceShared

/// `sluice_l7_key` as a dictionary key for `Datapath.syncL7Ports`. Declared here, once: no other
/// module may add the same conformance.
extension sluice_l7_key: @retroactive Hashable {
    public static func == (lhs: sluice_l7_key, rhs: sluice_l7_key) -> Bool {
        lhs.endpoint_id == rhs.endpoint_id && lhs.port == rhs.port && lhs.proto == rhs.proto
            && lhs.direction == rhs.direction
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint_id)
        hasher.combine(port)
        hasher.combine(proto)
        hasher.combine(direction)
    }
}

/// Compares the meaningful fields (`kind`, `_reserved`); padding is ignored.
extension sluice_l7_value: @retroactive Equatable {
    public static func == (lhs: sluice_l7_value, rhs: sluice_l7_value) -> Bool {
        lhs.kind == rhs.kind && lhs._reserved == rhs._reserved
    }
}
