internal import CLibbpf
public import CSluiceShared

#if canImport(Glibc)
    internal import Glibc
#endif

/// Typed access to the pinned maps. Each call is one `bpf(2)` syscall unless it says otherwise.
extension Datapath {
    /// Sets the endpoint of the pod address `ipv4` (network byte order) in `sluice_endpoints`
    /// and, when `info.ifindex` is known (not 0), under its host-side veth in `sluice_veths`:
    /// tc accepts IPv4 packets from that veth only with this source address (anti-spoofing) and
    /// finds the endpoint of IPv6 packets by the veth. The veth entry goes in first, so a packet
    /// never finds the address without it.
    public func setEndpoint(ipv4: UInt32, info: sluice_endpoint_info) throws {
        defer { steeringEpoch.changed() }
        var value = info
        if info.ifindex != 0 {
            var veth = sluice_veth_key(ifindex: info.ifindex)
            try DatapathError.checkMapCall(
                bpf_map_update_elem(vethsFD, &veth, &value, UInt64(BPF_ANY)), "bpf_map_update_elem", "sluice_veths")
        }
        var key = sluice_endpoint_key(ip4: ipv4)
        try DatapathError.checkMapCall(
            bpf_map_update_elem(endpointsFD, &key, &value, UInt64(BPF_ANY)), "bpf_map_update_elem",
            "sluice_endpoints")
    }

    /// Removes the endpoint of `ipv4` (network byte order) and its veth entry; absent is not an
    /// error.
    public func removeEndpoint(ipv4: UInt32) throws {
        defer { steeringEpoch.changed() }
        var key = sluice_endpoint_key(ip4: ipv4)
        var info = sluice_endpoint_info()
        let found = bpf_map_lookup_elem(endpointsFD, &key, &info) == 0
        try deleteTolerant(endpointsFD, &key, "sluice_endpoints")
        if found && info.ifindex != 0 {
            var veth = sluice_veth_key(ifindex: info.ifindex)
            try deleteTolerant(vethsFD, &veth, "sluice_veths")
        }
    }

    /// Makes `sluice_endpoints` equal to `endpoints` (pod address in network order -> endpoint)
    /// and `sluice_veths` equal to their veths: new and changed entries first (veths before
    /// addresses, as `setEndpoint`), then entries an earlier run pinned for endpoints that are
    /// gone. A stale address left on a reused veth would pass that veth's anti-spoofing check.
    public func syncEndpoints(_ endpoints: [UInt32: sluice_endpoint_info]) throws {
        defer { steeringEpoch.changed() }
        var veths: [sluice_veth_key: sluice_endpoint_info] = [:]
        var addresses: [sluice_endpoint_key: sluice_endpoint_info] = [:]
        for (ipv4, info) in endpoints {
            addresses[sluice_endpoint_key(ip4: ipv4)] = info
            if info.ifindex != 0 { veths[sluice_veth_key(ifindex: info.ifindex)] = info }
        }
        let currentVeths = try dumpMap(vethsFD, "sluice_veths", key: sluice_veth_key(), value: sluice_endpoint_info())
        let currentAddresses = try dumpMap(
            endpointsFD, "sluice_endpoints", key: sluice_endpoint_key(),
            value: sluice_endpoint_info())
        try upsert(vethsFD, "sluice_veths", veths, current: currentVeths)
        try upsert(endpointsFD, "sluice_endpoints", addresses, current: currentAddresses)
        try deleteStale(endpointsFD, "sluice_endpoints", keep: addresses, current: currentAddresses)
        try deleteStale(vethsFD, "sluice_veths", keep: veths, current: currentVeths)
    }

    /// The endpoint behind host-side veth `ifindex` in `sluice_veths`, or nil.
    public func vethEndpoint(ifindex: UInt32) -> sluice_endpoint_info? {
        var key = sluice_veth_key(ifindex: ifindex)
        var value = sluice_endpoint_info()
        guard bpf_map_lookup_elem(vethsFD, &key, &value) == 0 else { return nil }
        return value
    }

    /// Makes `sluice_l7_ports` equal to `entries`: new and changed entries are written first,
    /// stale ones deleted after, so a port that stays steered is never briefly missing.
    /// Costs one syscall per existing entry plus one per change.
    public func syncL7Ports(_ entries: [sluice_l7_key: sluice_l7_value]) throws {
        defer { steeringEpoch.changed() }
        let current = try l7Ports()
        try upsert(l7PortsFD, "sluice_l7_ports", entries, current: current)
        try deleteStale(l7PortsFD, "sluice_l7_ports", keep: entries, current: current)
    }

    /// The current contents of `sluice_l7_ports` (walks the map: two syscalls per entry).
    public func l7Ports() throws -> [sluice_l7_key: sluice_l7_value] {
        try dumpMap(l7PortsFD, "sluice_l7_ports", key: sluice_l7_key(), value: sluice_l7_value())
    }

    /// Puts the proxy listener `fd` in slot `index` (`SLUICE_SOCK_HTTP`, ...) of the
    /// `sluice_proxy_socks` sockmap. The kernel removes it when the socket is closed.
    public func registerProxySocket(_ index: Int, fd: Int32) throws {
        var key = UInt32(truncatingIfNeeded: index)
        var value = UInt64(UInt32(bitPattern: fd))
        try DatapathError.checkMapCall(
            bpf_map_update_elem(proxySocksFD, &key, &value, UInt64(BPF_ANY)), "bpf_map_update_elem",
            "sluice_proxy_socks[\(index)]")
    }

    /// Empties slot `index` of the sockmap (steered traffic of that kind then fails closed). An
    /// empty slot (its socket closed already) is not an error: a sockmap answers its delete with
    /// EINVAL, not ENOENT.
    public func unregisterProxySocket(_ index: Int) throws {
        var key = UInt32(truncatingIfNeeded: index)
        try deleteTolerant(proxySocksFD, &key, "sluice_proxy_socks[\(index)]", absent: EINVAL)
    }

    /// What tc recorded for a steered connection or datagram flow, or nil. The proxy calls it
    /// after accept/recvmsg with (peer, original destination, proto): one syscall.
    public func lookupSteered(_ t: sluice_tuple) -> sluice_steer_info? {
        var key = t
        var value = sluice_steer_info()
        guard bpf_map_lookup_elem(steeredFD, &key, &value) == 0 else { return nil }
        return value
    }

    /// Deletes `key`; the errno the map answers for a missing key (`absent`) is not an error.
    /// Returns whether an entry was deleted. The one tolerant delete of the datapath's map code.
    @discardableResult
    func deleteTolerant(
        _ fd: Int32, _ key: UnsafeMutableRawPointer, _ map: String, absent: Int32 = ENOENT
    ) throws(DatapathError) -> Bool {
        let status = bpf_map_delete_elem(fd, key)
        guard status < 0 else { return true }
        let error = status == -1 ? Glibc.errno : -status
        if error == absent { return false }
        throw DatapathError(call: "bpf_map_delete_elem", errno: error, context: map)
    }
}
