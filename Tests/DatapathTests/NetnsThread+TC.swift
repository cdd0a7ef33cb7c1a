import CLibbpf
import Glibc
import SluiceTestSupport

@testable import Datapath

/// What the attach tests read back inside a `NetnsThread` (SluiceTestSupport).
extension NetnsThread {
    /// The inode of the calling thread's network namespace.
    static func inode() -> UInt32 {
        var status = stat()
        _ = stat("/proc/thread-self/ns/net", &status)
        return UInt32(truncatingIfNeeded: status.st_ino)
    }

    /// The program ID of the tc filter with Sluice's handle and priority on `ifindex` at
    /// `point`, or the negative errno of the query (-ENOENT: no such filter).
    static func tcFilterProgramID(ifindex: Int32, _ point: bpf_tc_attach_point) -> Int64 {
        let hookSize = MemoryLayout<bpf_tc_hook>.stride
        let optsSize = MemoryLayout<bpf_tc_opts>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: hookSize + optsSize, alignment: 16)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: hookSize + optsSize)
        let hook = raw.bindMemory(to: bpf_tc_hook.self, capacity: 1)
        hook.pointee.sz = hookSize
        hook.pointee.ifindex = ifindex
        hook.pointee.attach_point = point
        let opts = (raw + hookSize).bindMemory(to: bpf_tc_opts.self, capacity: 1)
        opts.pointee.sz = optsSize
        opts.pointee.handle = Datapath.tcFilterHandle
        opts.pointee.priority = Datapath.tcFilterPriority
        let status = bpf_tc_query(hook, opts)
        return status < 0 ? Int64(status) : Int64(opts.pointee.prog_id)
    }

    /// The ID of the program behind `fd`.
    static func programID(_ fd: Int32) -> Int64 {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { return -1 }
        return Int64(info.id)
    }
}
