import CLibbpf
import CSluice
import Foundation
import Glibc

@testable import Datapath

/// Runs test code in a network namespace of its own: `ip netns add` makes one (named
/// `dptest-PID-N`, never `sluice-*`, so the sandbox's clean-up leaves it alone), a new thread
/// enters it (network namespaces are per thread), runs `body` there and ends, and the namespace
/// is deleted with its only device `lo`. Attach and routing tests touch nothing of the host's
/// network this way; processes the body spawns (posix_spawn) start in that namespace too.
enum NetnsThread {
    struct Failed: Error { var what: String }

    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let name = "dptest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard let ip = Datapath.ipCommandCandidates.first(where: { access($0, X_OK) == 0 }) else {
            throw Failed(what: "no ip command")
        }
        let added = try Datapath.run(ip, ["netns", "add", name])
        guard added.status == 0 else { throw Failed(what: "ip netns add \(name): \(added.output)") }
        defer { _ = try? Datapath.run(ip, ["netns", "delete", name]) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error> = .failure(Failed(what: "not run"))
        let thread = Thread {
            let entered = CSluice_setns_net("/run/netns/" + name)
            if entered != 0 {
                result = .failure(Failed(what: "setns \(name): \(-entered)"))
            } else {
                result = Result { try body() }
            }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.get()
    }

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
