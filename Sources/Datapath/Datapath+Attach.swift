internal import CLibbpf
internal import CSluice

#if canImport(Glibc)
    internal import Glibc
#endif

extension Datapath {
    /// The tc filter's fixed handle and priority: attaching again replaces our filter instead of
    /// adding a second one, and detaching finds it.
    static let tcFilterHandle: UInt32 = 0x51C
    static let tcFilterPriority: UInt32 = 1

    /// Attaches the sk_lookup program to the network namespace at `netnsPath` and pins the link
    /// at `<pinDirectory>/sk_lookup_link`.
    ///
    /// When a link is already pinned for that namespace (agent restart), it is switched to this
    /// process's program with `bpf_link_update` instead of attaching a second program; a pinned
    /// link for another, or a deleted, namespace is replaced.
    public func attachSkLookup(netnsPath: String = "/proc/self/ns/net") throws {
        let netns = Glibc.open(netnsPath, O_RDONLY | O_CLOEXEC)
        guard netns >= 0 else { throw DatapathError.fromErrno("open", netnsPath) }
        defer { Glibc.close(netns) }
        var status = stat()
        guard fstat(netns, &status) == 0 else { throw DatapathError.fromErrno("fstat", netnsPath) }

        let linkPath = pinDirectory + "/" + Datapath.skLookupLinkName
        if try updatePinnedLink(at: linkPath, netnsInode: UInt32(truncatingIfNeeded: status.st_ino)) {
            return
        }
        guard let link = bpf_program__attach_netns(skLookupProgram, netns) else {
            throw DatapathError.fromErrno("bpf_program__attach_netns", netnsPath)
        }
        let pinned = bpf_link__pin(link, linkPath)
        if pinned < 0 {
            bpf_link__destroy(link)
            throw DatapathError(call: "bpf_link__pin", errno: -pinned, context: linkPath)
        }
        // Keep our own fd to the link; the libbpf wrapper is freed, the pin keeps the link.
        let fd = fcntl(bpf_link__fd(link), F_DUPFD_CLOEXEC, 0)
        bpf_link__destroy(link)
        guard fd >= 0 else { throw DatapathError.fromErrno("fcntl F_DUPFD_CLOEXEC", linkPath) }
        replaceLinkFD(fd)
    }

    /// Re-targets a link pinned at `path` for the namespace with inode `netnsInode` to our
    /// program. Returns false (after removing a stale pin) when a new link must be attached.
    private func updatePinnedLink(at path: String, netnsInode: UInt32) throws -> Bool {
        guard BPFFilesystem.exists(path) else { return false }
        let fd = bpf_obj_get(path)
        if fd >= 0 {
            var inode: UInt32 = 0
            if CSluice_bpf_link_netns_ino(fd, &inode) == 0, inode == netnsInode,
                bpf_link_update(fd, skLookupProgramFD, nil) == 0
            {
                replaceLinkFD(fd)
                return true
            }
            Glibc.close(fd)
        }
        try BPFFilesystem.unpin(path)
        return false
    }

    private func replaceLinkFD(_ fd: Int32) {
        if skLookupLinkFD >= 0 {
            Glibc.close(skLookupLinkFD)
        }
        skLookupLinkFD = fd
    }

    /// Attaches the tc program to the clsact ingress of the host-side veth `ifindex` (pod
    /// egress). The clsact qdisc may already exist; an earlier Sluice filter (same handle and
    /// priority) is replaced, so this is idempotent across restarts. Runs in the caller's
    /// network namespace (the node's).
    public func attachEndpoint(ifindex: Int32) throws {
        try DatapathError.check(CSluice_tc_hook_create_ingress(ifindex), "bpf_tc_hook_create", "ifindex \(ifindex)")
        let attached = CSluice_tc_attach_ingress(
            ifindex, Datapath.tcFilterHandle, Datapath.tcFilterPriority, tcProgramFD)
        try DatapathError.check(attached, "bpf_tc_attach", "ifindex \(ifindex)")
    }

    /// Removes Sluice's tc filter from the ingress of `ifindex`. The clsact qdisc stays (it may
    /// have existed before Sluice). A missing filter or interface is not an error.
    public func detachEndpoint(ifindex: Int32) throws {
        let detached = CSluice_tc_detach_ingress(ifindex, Datapath.tcFilterHandle, Datapath.tcFilterPriority)
        if detached == -ENOENT || detached == -ENODEV || detached == -EINVAL {
            return
        }
        try DatapathError.check(detached, "bpf_tc_detach", "ifindex \(ifindex)")
    }
}
