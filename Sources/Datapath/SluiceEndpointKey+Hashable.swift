public import CSluiceShared

/// `sluice_endpoint_key` as a dictionary key (walking `sluice_endpoints`).
extension sluice_endpoint_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(ip4) }
}

/// `sluice_veth_key` as a dictionary key (walking `sluice_veths`).
extension sluice_veth_key: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(ifindex) }
}

/// Compares every field.
extension sluice_endpoint_info: @retroactive Hashable, MapStruct {
    public var mapFields: MapFields { MapFields(id, identity, ifindex, flags) }
}
