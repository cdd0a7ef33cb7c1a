internal import CLibbpf
internal import CSluice
public import CSluiceShared

#if canImport(Glibc)
    internal import Glibc
#endif

/// The flow ring (`sluice_flow_head` + `sluice_flows`, protocol in `bpf/include/sluice_flow.h`)
/// mapped into this process.
///
/// Writers (the proxy; BPF programs write the same ring in the kernel) take a sequence number
/// with an atomic fetch-and-add on `next_seq` and publish the record with a release store of
/// `commit = seq + 1`; no syscall per flow. Readers (`sluice observe`) map the ring read-only
/// and copy a record only when its commit word is the same before and after the copy.
///
/// `append` and `read` may be called from any thread. `close()` (idempotent, also run by
/// `deinit`) unmaps both maps; no pointer handed to an `append` closure may outlive the call.
public final class FlowRing: @unchecked Sendable {
    /// Number of records the ring holds (`SLUICE_FLOW_SLOTS`): `read(seq:)` can return records
    /// in `[nextSeq - capacity, nextSeq)` at best.
    public static let capacity = UInt64(SLUICE_FLOW_SLOTS)

    private var head: UnsafeMutableRawPointer?
    private var flows: UnsafeMutableRawPointer?
    private let headLength: Int
    private let flowsLength: Int
    /// Whether the mapping is writable (`openForWriting`).
    public let isWritable: Bool

    private init(pinDirectory: String, writable: Bool) throws {
        isWritable = writable
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        headLength = FlowRing.roundUp(MemoryLayout<sluice_flow_head>.size, to: page)
        flowsLength = FlowRing.roundUp(MemoryLayout<sluice_flow>.size * Int(SLUICE_FLOW_SLOTS), to: page)
        let head = try FlowRing.map(pinDirectory + "/sluice_flow_head", length: headLength, writable: writable)
        do {
            flows = try FlowRing.map(pinDirectory + "/sluice_flows", length: flowsLength, writable: writable)
        } catch {
            munmap(head, headLength)
            throw error
        }
        self.head = head
    }

    deinit { close() }

    /// Maps the pinned ring read-write (the agent and its proxy).
    public static func openForWriting(pinDirectory: String = Datapath.defaultPinDirectory) throws -> FlowRing {
        try FlowRing(pinDirectory: pinDirectory, writable: true)
    }

    /// Maps the pinned ring read-only (`sluice observe`).
    public static func openForReading(pinDirectory: String = Datapath.defaultPinDirectory) throws -> FlowRing {
        try FlowRing(pinDirectory: pinDirectory, writable: false)
    }

    /// Unmaps the ring. Safe to call twice.
    public func close() {
        if let head { munmap(head, headLength) }
        if let flows { munmap(flows, flowsLength) }
        head = nil
        flows = nil
    }

    /// The sequence number the next record will get (acquire load): records
    /// `[max(nextSeq, capacity) - capacity, nextSeq)` may be read. 0 after `close()`.
    public var nextSeq: UInt64 {
        guard let head else { return 0 }
        return CSluice_atomic_load_acquire_u64(head.assumingMemoryBound(to: UInt64.self))
    }

    /// Appends one record: takes a sequence number, hands `fill` the slot zeroed (with
    /// `commit == 0`, so readers skip it), then publishes it. `fill` must not touch `commit` nor
    /// keep the pointer. Returns the record's sequence number.
    /// Traps when the ring was opened read-only (a programming error, not an input error).
    @discardableResult
    public func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) -> UInt64 {
        appendWritten { slot in
            let commitSize = MemoryLayout<UInt64>.size
            (UnsafeMutableRawPointer(slot) + commitSize).initializeMemory(
                as: UInt8.self, repeating: 0, count: MemoryLayout<sluice_flow>.size - commitSize)
            fill(slot)
        }
    }

    /// `append` without zeroing the slot first: `fill` gets the slot as the record written
    /// `capacity` sequence numbers earlier left it (with `commit == 0`) and must write every
    /// field a reader reads, as `FlowRecordWriter`'s functions do (they clear the fixed fields
    /// and write only the used bytes of the text fields, whose lengths say where they end). The
    /// proxy's records take this path: a record's 1 KiB is cleared by nobody twice.
    @discardableResult
    public func appendWritten(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) -> UInt64 {
        guard isWritable, let head, let flows else {
            preconditionFailure("FlowRing.append on a read-only or closed ring")
        }
        let seq = CSluice_atomic_fetch_add_u64(head.assumingMemoryBound(to: UInt64.self), 1)
        let slot = flows + Int(seq % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        let commit = slot.assumingMemoryBound(to: UInt64.self)
        CSluice_atomic_store_relaxed_u64(commit, 0)
        CSluice_atomic_thread_fence_release()
        fill(slot.assumingMemoryBound(to: sluice_flow.self))
        CSluice_atomic_store_release_u64(commit, seq + 1)
        prefetchSlot(after: seq, in: flows)
        return seq
    }

    /// Fetches the lines of the slot after `seq` that a record's writer stores to, so that the
    /// next record (most likely this writer's: a proxied request writes two) finds them in the
    /// cache. A slot comes round again only after `capacity` records (4 MiB later), so its lines
    /// are cold; before this the writer's first store to each waited for the line (and stalled
    /// the loads behind it that the store buffer could not forward: 3 % of get-ka's agent samples
    /// sat on one such load in `FlowRecordWriter.writeHTTP`). The lines: the fixed fields (bytes
    /// 0-127, with the method), the rest of a short URL (128-191), and the words after the URL
    /// with the start of the packed headers (448-575). A hint only: a slot another writer takes is
    /// merely fetched for nothing.
    @inline(__always)
    private func prefetchSlot(after seq: UInt64, in flows: UnsafeMutableRawPointer) {
        let next = flows + Int((seq &+ 1) % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        CSluice_prefetch_write(next)
        CSluice_prefetch_write(next + 64)
        CSluice_prefetch_write(next + 128)
        CSluice_prefetch_write(next + 448)
        CSluice_prefetch_write(next + 512)
    }

    /// Fetches the lines of slot `seq` a reader copies (`FlowRecordBytes.copyUsed`: the same lines
    /// the writer prefetches: bytes 0-191 and 448-575), for reading; a reader calls it for a record
    /// it saw taken (below the head) and will read soon, so it does not take lines from a writer
    /// still filling them.
    @inline(__always)
    public func prefetch(seq: UInt64) {
        guard let flows else { return }
        let p = flows + Int(seq % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        CSluice_prefetch_read(p)
        CSluice_prefetch_read(p + 64)
        CSluice_prefetch_read(p + 128)
        CSluice_prefetch_read(p + 448)
        CSluice_prefetch_read(p + 512)
    }

    /// Record number `seq`, or nil when it is not written yet, is being written, or has been
    /// overwritten by a later record (more than `capacity` behind `nextSeq`).
    public func read(seq: UInt64) -> sluice_flow? {
        guard let flows, seq < nextSeq else { return nil }
        let slot = flows + Int(seq % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        let commit = slot.assumingMemoryBound(to: UInt64.self)
        guard CSluice_atomic_load_acquire_u64(commit) == seq + 1 else { return nil }
        let copy = slot.load(as: sluice_flow.self)
        CSluice_atomic_thread_fence_acquire()
        guard CSluice_atomic_load_acquire_u64(commit) == seq + 1 else { return nil }
        return copy
    }

    /// What slot `seq` holds for a reader that wants record `seq`.
    public enum Slot {
        /// The record, complete.
        case record(sluice_flow)
        /// Not readable yet: not taken, or taken and still being written.
        case pending
        /// Gone: a later record took the slot (the reader fell more than `capacity` behind).
        case overwritten
    }

    /// Record number `seq`, or why it cannot be read (`Slot`). Records never fail to be written
    /// (the ring overwrites its oldest), so a reader that falls behind loses records and learns
    /// it here: Hubble's HUBBLE_RING_BUFFER lost events.
    public func slot(seq: UInt64) -> Slot {
        switch read(seq: seq, { $0.pointee }) {
        case .record(let record): .record(record)
        case .pending: .pending
        case .overwritten: .overwritten
        }
    }

    /// What `read(seq:_:)` found: `body`'s result on a complete record, or why there was none.
    public enum Read<Result> {
        case record(Result)
        case pending
        case overwritten
    }

    /// Record number `seq` handed to `body` in place (the mapped slot), as `slot(seq:)` reads it:
    /// `body` copies what it needs out of the slot (it may read torn bytes: a writer can take
    /// the slot meanwhile, so lengths read there must be clamped), and its result counts only
    /// when the slot still holds record `seq` afterwards (else `.overwritten`). The observer
    /// copies a record's used bytes straight into its history this way (one copy, issue 17).
    /// `taken`: the caller saw `nextSeq` above `seq` (`FlowCursor` keeps the head it read), so
    /// the head is not read again (a line the writers change per record: a cache miss each time);
    /// an older lap's or a newer lap's record in the slot is still told by its commit word.
    public func read<Result>(seq: UInt64, taken: Bool = false, _ body: (UnsafePointer<sluice_flow>) -> Result)
        -> Read<Result>
    {
        guard let flows else { return .pending }
        if !taken {
            let head = nextSeq
            guard seq < head else { return .pending }
            if head - seq > FlowRing.capacity { return .overwritten }
        }
        let slot = flows + Int(seq % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        let commit = slot.assumingMemoryBound(to: UInt64.self)
        let before = CSluice_atomic_load_acquire_u64(commit)
        if before == seq + 1 {
            let result = body(UnsafePointer(slot.assumingMemoryBound(to: sluice_flow.self)))
            CSluice_atomic_thread_fence_acquire()
            if CSluice_atomic_load_acquire_u64(commit) == seq + 1 { return .record(result) }
            return .overwritten
        }
        if before > seq + 1 { return .overwritten }
        // 0 (being written: this record or, if the ring wrapped meanwhile, a later one) or the
        // previous lap's record (this one's writer has not marked the slot yet).
        return nextSeq - seq > FlowRing.capacity ? .overwritten : .pending
    }

    private static func map(_ path: String, length: Int, writable: Bool) throws -> UnsafeMutableRawPointer {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw DatapathError.fromErrno("bpf_obj_get", path) }
        defer { Glibc.close(fd) }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let address = mmap(nil, length, protection, MAP_SHARED, fd, 0), address != MAP_FAILED else {
            throw DatapathError.fromErrno("mmap", path)
        }
        return address
    }

    private static func roundUp(_ value: Int, to page: Int) -> Int {
        (value + page - 1) / page * page
    }
}
