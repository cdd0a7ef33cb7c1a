internal import CLibbpf
public import CSluiceShared

#if canImport(Glibc)
internal import Glibc
#endif

/// Typed access to the pinned maps. Each call is one `bpf(2)` syscall unless it says otherwise.
extension Datapath {
    /// Sets the endpoint of the pod address `ipv4` (network byte order) in `sluice_endpoints`.
    public func setEndpoint(ipv4: UInt32, info: sluice_endpoint_info) throws {
        defer { steeringEpoch.changed() }
        var key = sluice_endpoint_key(ip4: ipv4)
        var value = info
        try DatapathError.checkMapCall(
            bpf_map_update_elem(endpointsFD, &key, &value, UInt64(BPF_ANY)), "bpf_map_update_elem",
            "sluice_endpoints")
    }

    /// Removes the endpoint of `ipv4` (network byte order); absent is not an error.
    public func removeEndpoint(ipv4: UInt32) throws {
        defer { steeringEpoch.changed() }
        var key = sluice_endpoint_key(ip4: ipv4)
        try deleteTolerant(endpointsFD, &key, "sluice_endpoints")
    }

    /// Makes `sluice_l7_ports` equal to `entries`: new and changed entries are written first,
    /// stale ones deleted after, so a port that stays steered is never briefly missing.
    /// Costs one syscall per existing entry plus one per change.
    public func syncL7Ports(_ entries: [sluice_l7_key: sluice_l7_value]) throws {
        defer { steeringEpoch.changed() }
        let current = try l7Ports()
        for (key, value) in entries where current[key] != value {
            var k = key
            var v = value
            try DatapathError.checkMapCall(
                bpf_map_update_elem(l7PortsFD, &k, &v, UInt64(BPF_ANY)), "bpf_map_update_elem", "sluice_l7_ports")
        }
        for key in current.keys where entries[key] == nil {
            var k = key
            try deleteTolerant(l7PortsFD, &k, "sluice_l7_ports")
        }
    }

    /// The current contents of `sluice_l7_ports` (walks the map: two syscalls per entry).
    public func l7Ports() throws -> [sluice_l7_key: sluice_l7_value] {
        var result: [sluice_l7_key: sluice_l7_value] = [:]
        var key = sluice_l7_key()
        var next = sluice_l7_key()
        var hasKey = false
        while true {
            let status = hasKey
                ? bpf_map_get_next_key(l7PortsFD, &key, &next)
                : bpf_map_get_next_key(l7PortsFD, nil, &next)
            if status < 0 {
                let error = status == -1 ? Glibc.errno : -status
                if error == ENOENT { return result }
                throw DatapathError(call: "bpf_map_get_next_key", errno: error, context: "sluice_l7_ports")
            }
            var value = sluice_l7_value()
            if bpf_map_lookup_elem(l7PortsFD, &next, &value) == 0 {
                result[next] = value
            }
            key = next
            hasKey = true
        }
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

    /// Empties slot `index` of the sockmap (steered traffic of that kind then fails closed).
    public func unregisterProxySocket(_ index: Int) throws {
        var key = UInt32(truncatingIfNeeded: index)
        try deleteTolerant(proxySocksFD, &key, "sluice_proxy_socks[\(index)]")
    }

    /// What tc recorded for a steered connection or datagram flow, or nil. The proxy calls it
    /// after accept/recvmsg with (peer, original destination, proto): one syscall.
    public func lookupSteered(_ t: sluice_tuple) -> sluice_steer_info? {
        var key = t
        var value = sluice_steer_info()
        guard bpf_map_lookup_elem(steeredFD, &key, &value) == 0 else { return nil }
        return value
    }

    private func deleteTolerant(_ fd: Int32, _ key: UnsafeMutableRawPointer, _ map: String) throws {
        let status = bpf_map_delete_elem(fd, key)
        guard status < 0 else { return }
        let error = status == -1 ? Glibc.errno : -status
        if error == ENOENT { return }
        throw DatapathError(call: "bpf_map_delete_elem", errno: error, context: map)
    }
}
