internal import CLibbpf

#if canImport(Glibc)
    internal import Glibc
#endif

/// Attaching `sluice_tc_to_endpoint` (the ingress policy of traffic toward a pod that no local
/// pod sent) to the clsact **egress** of an endpoint's host-side veth. The option structs are
/// built here with `sz` set, as libbpf's `LIBBPF_OPTS` would.
extension Datapath {
    /// Attaches the to-endpoint program to the egress of `ifindex` with the same fixed handle and
    /// priority as the ingress filter, replacing an earlier Sluice filter (idempotent). Creates
    /// the clsact qdisc when missing. Runs in the caller's network namespace (the node's).
    public func attachToEndpoint(ifindex: Int32) throws {
        let programFD = try tcObject.programFD(named: Datapath.toEndpointProgramName)
        let (created, attached) = Datapath.withEgressOptions(ifindex, programFD: programFD) { hook, opts in
            (bpf_tc_hook_create(hook), bpf_tc_attach(hook, opts))
        }
        if created < 0 && created != -EEXIST {
            try DatapathError.check(created, "bpf_tc_hook_create", "ifindex \(ifindex) egress")
        }
        try DatapathError.check(attached, "bpf_tc_attach", "ifindex \(ifindex) egress")
    }

    /// Removes Sluice's filter from the egress of `ifindex`; a missing filter or interface is not
    /// an error. The qdisc stays.
    public func detachToEndpoint(ifindex: Int32) throws {
        let detached = Datapath.withEgressOptions(ifindex, programFD: 0) { hook, opts in
            bpf_tc_detach(hook, opts)
        }
        if detached == -ENOENT || detached == -ENODEV || detached == -EINVAL {
            return
        }
        try DatapathError.check(detached, "bpf_tc_detach", "ifindex \(ifindex) egress")
    }

    /// Runs `body` with a hook on the egress of `ifindex` and filter options (Sluice's handle and
    /// priority, replace flag, `programFD` unless 0), both in zero-filled memory: libbpf rejects
    /// options whose bytes past the last known field (padding included) are not zero.
    private static func withEgressOptions<R>(
        _ ifindex: Int32, programFD: Int32,
        _ body: (UnsafeMutablePointer<bpf_tc_hook>, UnsafeMutablePointer<bpf_tc_opts>) -> R
    ) -> R {
        let hookSize = MemoryLayout<bpf_tc_hook>.stride
        let optsSize = MemoryLayout<bpf_tc_opts>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: hookSize + optsSize, alignment: 16)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: hookSize + optsSize)
        let hook = raw.bindMemory(to: bpf_tc_hook.self, capacity: 1)
        hook.pointee.sz = hookSize
        hook.pointee.ifindex = ifindex
        hook.pointee.attach_point = BPF_TC_EGRESS
        let opts = (raw + hookSize).bindMemory(to: bpf_tc_opts.self, capacity: 1)
        opts.pointee.sz = optsSize
        opts.pointee.handle = tcFilterHandle
        opts.pointee.priority = tcFilterPriority
        if programFD > 0 {
            opts.pointee.prog_fd = programFD
            opts.pointee.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
        }
        return body(hook, opts)
    }
}
