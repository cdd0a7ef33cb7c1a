public import CSluiceShared

/// `sluice_l7_key` as a dictionary key for `Datapath.syncL7Ports`. Declared here, once: no other
/// module may add the same conformance.
extension sluice_l7_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(endpoint_id, port, proto, direction) }
}

/// Compares the meaningful fields (`kind`, `_reserved`); padding is ignored.
extension sluice_l7_value: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(kind, _reserved) }
}
