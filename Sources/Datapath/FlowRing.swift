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
    /// The record layout this build writes and reads (`SLUICE_FLOW_LAYOUT`, kept in the head's
    /// `layout` word).
    public static let layout = UInt64(SLUICE_FLOW_LAYOUT)

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

    /// Maps the pinned ring read-only (`sluice observe`, sluice-observer). Throws
    /// `FlowRingLayoutError` when the ring's records are of another layout than this build's
    /// (an agent of another build wrote them), instead of decoding them wrongly.
    public static func openForReading(pinDirectory: String = Datapath.defaultPinDirectory) throws -> FlowRing {
        let ring = try FlowRing(pinDirectory: pinDirectory, writable: false)
        let found = ring.recordLayout
        guard found == layout else {
            ring.close()
            throw FlowRingLayoutError(pin: pinDirectory + "/sluice_flow_head", found: found, expected: layout)
        }
        return ring
    }

    /// The head's layout word (0 from a build before it, or before an agent adopted the ring).
    public var recordLayout: UInt64 {
        guard let head else { return 0 }
        return CSluice_atomic_load_acquire_u64((head + Self.layoutOffset).assumingMemoryBound(to: UInt64.self))
    }

    /// Makes the pinned ring this build's (`Datapath.open`, before any program of this build
    /// writes it): when its layout word is another, the records written so far are dropped
    /// (each written slot's commit word cleared, so no reader copies it; `next_seq` goes on)
    /// and the word is set. Returns the layout found when the records were dropped, nil when the
    /// ring was already this build's. A fresh ring (nothing written) only gets the word.
    @discardableResult
    public static func adopt(pinDirectory: String) throws -> UInt64? {
        let ring = try FlowRing(pinDirectory: pinDirectory, writable: true)
        defer { ring.close() }
        let found = ring.recordLayout
        guard found != layout, let head = ring.head, let flows = ring.flows else { return nil }
        let next = ring.nextSeq
        var seq = next > capacity ? next - capacity : 0
        while seq < next {
            let slot = flows + Int(seq % capacity) * MemoryLayout<sluice_flow>.stride
            CSluice_atomic_store_relaxed_u64(slot.assumingMemoryBound(to: UInt64.self), 0)
            seq += 1
        }
        CSluice_atomic_thread_fence_release()
        CSluice_atomic_store_release_u64((head + layoutOffset).assumingMemoryBound(to: UInt64.self), layout)
        return next == 0 ? nil : found
    }

    /// Writes the layout word as another build would have left it (tests).
    func storeRecordLayout(_ value: UInt64) {
        guard let head else { return }
        CSluice_atomic_store_release_u64((head + Self.layoutOffset).assumingMemoryBound(to: UInt64.self), value)
    }

    /// Where the head's `layout` word is (asserted in sluice_flow.h).
    private static var layoutOffset: Int { 8 }

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
    /// sat on one such load in `FlowRecordWriter.writeHTTP`). The lines: the header and the HTTP
    /// part's fixed fields with the method (bytes 0-127), the method's end and a short URL
    /// (128-191), and the start of a request's packed headers (512-575; layout 2 keeps every
    /// fixed field before the URL, so a response writes nothing past it). A hint only: a slot
    /// another writer takes is merely fetched for nothing.
    @inline(__always)
    private func prefetchSlot(after seq: UInt64, in flows: UnsafeMutableRawPointer) {
        let next = flows + Int((seq &+ 1) % FlowRing.capacity) * MemoryLayout<sluice_flow>.stride
        CSluice_prefetch_write(next)
        CSluice_prefetch_write(next + 64)
        CSluice_prefetch_write(next + 128)
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

/// A flow ring whose records are of another layout than this build's (`SLUICE_FLOW_LAYOUT`): an
/// agent of another build wrote it. Readers refuse it rather than decode its records wrongly.
public struct FlowRingLayoutError: Error, CustomStringConvertible, Equatable {
    public let pin: String
    /// The ring's layout word (0: written by a build before the word).
    public let found: UInt64
    public let expected: UInt64

    public var description: String {
        "the flow ring \(pin) has record layout \(found)\(found == 0 ? " (a build before layout words)" : ""), "
            + "this build reads layout \(expected): the agent and this reader are of different builds"
    }
}
