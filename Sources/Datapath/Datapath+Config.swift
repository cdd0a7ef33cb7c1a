internal import CLibbpf
internal import CSluiceShared

/// Agent options the tc programs read at run time (`sluice_config`, one entry; shared with
/// bpf/include/sluice_maps.h). A map rather than a `const volatile` global so an agent restart
/// with another option takes effect on the programs already attached to the veths.
extension Datapath {
    /// What a pod sees when its egress policy denies a packet.
    public enum DenyResponse: String, Sendable, CaseIterable {
        /// Silent drop: the client times out (Cilium's default, `--policy-deny-response=none`).
        case none
        /// ICMP destination unreachable / packet filtered for egress denies (Cilium 1.19).
        case icmp
    }

    /// Writes the deny response into `sluice_config`, keeping its other options.
    public func setDenyResponse(_ response: DenyResponse) throws {
        try updateConfig {
            $0.deny_response = UInt8(
                response == .icmp
                    ? SLUICE_DENY_RESPONSE_ICMP.rawValue
                    : SLUICE_DENY_RESPONSE_NONE.rawValue)
        }
    }

    /// Whether the tc programs write trace and policy-verdict records of allowed traffic
    /// (bpf/lib/trace.h); on unless the agent runs with `--no-flows`.
    public func setAllowedTrafficRecords(_ on: Bool) throws {
        try updateConfig { $0.no_allowed_records = on ? 0 : 1 }
    }

    /// The options in `sluice_config`, as they are now.
    func config() throws -> sluice_config {
        let fd = try tcObject.mapFD(named: "sluice_config")
        var key: UInt32 = 0
        var value = sluice_config()
        try DatapathError.checkMapCall(bpf_map_lookup_elem(fd, &key, &value), "bpf_map_lookup_elem", "sluice_config")
        return value
    }

    /// Reads `sluice_config`, changes it with `change` and writes it back. Two syscalls.
    private func updateConfig(_ change: (inout sluice_config) -> Void) throws {
        let fd = try tcObject.mapFD(named: "sluice_config")
        var key: UInt32 = 0
        var value = try config()
        change(&value)
        try DatapathError.checkMapCall(
            bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY)), "bpf_map_update_elem",
            "sluice_config")
    }
}
