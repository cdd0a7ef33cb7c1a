internal import CSluice
import CSluiceShared
import Flows

/// The last `capacity` flows this observer read, oldest first, with Hubble's counters: what
/// `GetFlows` without `follow` reads, and `ServerStatus` reports (`max_flows`, `num_flows`,
/// `seen_flows`, lost events). Hubble's ring buffer keeps `max_flows` (`--hubble-event-buffer-capacity`,
/// default 4095) events; this is the same, in fixed slots reused in place. Flows read from the
/// ring are kept as their records, copied once from the ring slot into the history's scratch
/// record (only the record's used bytes, `FlowRecordBytes`; `FlowRingReader.next(nowNs:into:)`),
/// where the listeners read it, and streamed from there to a history slot (its used lines, with
/// non-temporal stores: `commitRecord`); decoded when a
/// `GetFlows` reads them (`Entry.flow`); flows handed in decoded (tests, `Observer.ingest(_:)`)
/// are kept decoded.
///
/// A slot names its `FlowDecodeContext` by a number into a table of the contexts live slots use
/// (one per endpoint-directory reload), not by a reference: keeping a record costs no
/// retain/release. A context leaves the table when the last slot that used it is reused.
///
/// The records live in `capacity + 1` slots: the spare one is where the next record is copied
/// before it is known to be complete (`nextRecordSlot`), so a record the ring overwrote while it
/// was copied replaces nothing.
///
/// Not thread-safe: owned by the observer's event loop, like everything it hands out.
public struct FlowHistory {
    /// One kept flow and its position in the sequence of every flow this observer saw.
    public struct Entry {
        /// 0 for the first flow the observer saw, then 1, 2, ... (never reused).
        public var index: UInt64
        /// The flow's wall-clock time (without decoding it).
        public var time: Flow.Timestamp
        private var decoded: Flow?
        /// The record when the flow was kept as one.
        public private(set) var raw: RawFlow?

        init(index: UInt64, flow: Flow) {
            self.index = index
            time = flow.time
            decoded = flow
        }

        init(index: UInt64, raw: RawFlow) {
            self.index = index
            time = raw.time
            self.raw = raw
        }

        /// The flow (decoded now when it was kept as a record).
        public var flow: Flow {
            if let decoded { return decoded }
            return raw?.decode() ?? Flow()
        }
    }

    /// What slot `i` holds besides its record bytes.
    private struct Meta {
        var index: UInt64
        var seq: UInt64
        var wallOffsetNs: Int64
        /// The context's number (`contextBase` is `contexts[0]`'s).
        var context: UInt32
        /// false: the flow is `decoded[slot]`.
        var isRecord: Bool
    }

    /// The record slots (`capacity + 1` of them, allocated once, 64-byte aligned; untouched pages
    /// cost nothing), and the scratch record the next record is copied into.
    private final class Slots {
        let base: UnsafeMutablePointer<sluice_flow>
        /// Where the reader copies the next record from the ring and the listeners read it (one
        /// record, in the cache: `nextRecordSlot`, `commitRecord`).
        let scratch: UnsafeMutablePointer<sluice_flow>
        let count: Int

        init(count: Int) {
            self.count = count
            let stride = MemoryLayout<sluice_flow>.stride
            base = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: 64)
                .bindMemory(to: sluice_flow.self, capacity: count)
            scratch = UnsafeMutableRawPointer.allocate(byteCount: stride, alignment: 64)
                .bindMemory(to: sluice_flow.self, capacity: 1)
        }

        func copy() -> Slots {
            let other = Slots(count: count)
            UnsafeMutableRawPointer(other.base).copyMemory(
                from: base, byteCount: count * MemoryLayout<sluice_flow>.stride)
            return other
        }

        deinit {
            base.deallocate()
            scratch.deallocate()
        }
    }

    /// `max_flows`.
    public let capacity: Int
    private var slots: Slots
    /// `slots.count` (`capacity + 1`), without a load through the reference per record.
    private let slotCount: Int
    private var metas: [Meta] = []
    private var decoded: [Int: Flow] = [:]
    /// The oldest kept flow's slot.
    private var start = 0
    public private(set) var count = 0
    /// The contexts of the kept records, oldest first; `contexts[i]` is number `contextBase + i`.
    private var contexts: [FlowDecodeContext] = []
    private var contextBase: UInt32 = 0
    /// `contexts.last`'s identity (the table keeps it alive, so the identity is not reused).
    private var newestContext: ObjectIdentifier?
    /// `seen_flows`: every flow appended since start.
    public private(set) var seenFlows: UInt64 = 0
    /// Records the flow ring overwrote before this observer read them (HUBBLE_RING_BUFFER).
    public private(set) var lostEvents: UInt64 = 0

    /// An empty history of `capacity` flows (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        slotCount = self.capacity + 1
        slots = Slots(count: slotCount)
    }

    /// Contexts in the table now (tests: one per directory still named by a kept record).
    var contextCount: Int { contexts.count }

    /// The slot after the newest (where the next flow goes).
    /// (No division: `start` < `slotCount` and `count` <= `capacity` < `slotCount`.)
    private var nextSlot: Int {
        let n = start + count
        return n >= slotCount ? n - slotCount : n
    }

    /// Keeps `flow`, replacing the oldest when full. Returns its index.
    @discardableResult
    public mutating func append(_ flow: Flow) -> UInt64 {
        let slot = commit(
            Meta(index: seenFlows, seq: 0, wallOffsetNs: 0, context: currentContextNumber, isRecord: false))
        decoded[slot] = flow
        return seenFlows - 1
    }

    /// Keeps a copy of the record `raw` (undecoded; only its used bytes), replacing the oldest
    /// when full. Returns the kept record.
    @discardableResult
    public mutating func append(_ raw: borrowing RawFlow) -> FlowRecordRef {
        let slot = nextRecordSlot()
        _ = withUnsafePointer(to: raw.record) { FlowRecordBytes.copyUsed(from: $0, to: slot) }
        return commitRecord(seq: raw.seq, wallOffsetNs: raw.wallOffsetNs, context: raw.context)
    }

    /// The scratch record the next record is to be copied into (`commitRecord` keeps it); writing
    /// it changes no kept flow. Valid until the next mutation of the history.
    public mutating func nextRecordSlot() -> UnsafeMutablePointer<sluice_flow> {
        if !isKnownUniquelyReferenced(&slots) { slots = slots.copy() }
        return slots.scratch
    }

    /// Keeps the record written into `nextRecordSlot()`, replacing the oldest when full, and
    /// returns it as listeners see it: in the scratch record, which stays in the cache for them,
    /// while its used lines go to its slot with non-temporal stores (`CSluice_stream_lines`). A
    /// slot comes round again only after `capacity` records (4 MiB later) and is read back only
    /// by `GetFlows`: stored the ordinary way, each of its 3-5 lines was first fetched (from the
    /// shared cache or memory) and then displaced lines the next records needed.
    public mutating func commitRecord(seq: UInt64, wallOffsetNs: Int64, context: FlowDecodeContext) -> FlowRecordRef {
        // By identity (`contexts.last` would be retained and released per record).
        if newestContext != ObjectIdentifier(context) {
            contexts.append(context)
            newestContext = ObjectIdentifier(context)
            if contexts.count == 1 { contextBase = currentContextNumber }
        }
        let number = contextBase &+ UInt32(contexts.count - 1)
        let slot = commit(Meta(index: seenFlows, seq: seq, wallOffsetNs: wallOffsetNs, context: number, isRecord: true))
        let scratch = slots.scratch
        Self.store(scratch, to: slots.base + slot)
        return FlowRecordRef(pointer: scratch, seq: seq, wallOffsetNs: wallOffsetNs, context: context)
    }

    /// The used lines of `record` (`FlowRecordBytes.usedLines`) to `slot`, streamed.
    @inline(__always)
    private static func store(_ record: UnsafePointer<sluice_flow>, to slot: UnsafeMutablePointer<sluice_flow>) {
        let lines = FlowRecordBytes.usedLines(record)
        CSluice_stream_lines(slot, record, UInt(lines.head))
        guard lines.tail > 0 else { return }
        let offset = lines.tailStart * 64
        CSluice_stream_lines(
            UnsafeMutableRawPointer(slot) + offset, UnsafeRawPointer(record) + offset, UInt(lines.tail))
    }

    /// Makes the records stored so far visible to other threads as ordinary stores are (the
    /// observer calls it at the end of each poll; its own thread reads them back without it).
    public func storeFence() { CSluice_store_fence() }

    /// The number the newest context has (or the next one will have when there is none).
    private var currentContextNumber: UInt32 {
        contexts.isEmpty ? contextBase : contextBase &+ UInt32(contexts.count - 1)
    }

    /// Stores `meta` in the next slot, dropping the oldest when full; returns the slot.
    private mutating func commit(_ meta: Meta) -> Int {
        let slot = nextSlot
        if slot == metas.count {
            metas.append(meta)
        } else {
            metas[slot] = meta
        }
        if !meta.isRecord || !decoded.isEmpty { decoded[slot] = nil }
        if count < capacity {
            count += 1
        } else {
            let dropped = start
            start = start + 1 == slotCount ? 0 : start + 1
            if !decoded.isEmpty { decoded[dropped] = nil }
            dropUnusedContexts()
        }
        seenFlows += 1
        return slot
    }

    /// Forgets the contexts older than the oldest kept flow's (numbers only grow with the slots).
    private mutating func dropUnusedContexts() {
        guard contexts.count > 1 else { return }
        let oldest = metas[start].context
        var drop = 0
        while drop < contexts.count - 1, contextBase &+ UInt32(drop) != oldest { drop += 1 }
        guard drop > 0 else { return }
        contexts.removeFirst(drop)
        contextBase &+= UInt32(drop)
    }

    /// Counts records lost before this observer read them.
    public mutating func noteLost(_ count: UInt64) {
        lostEvents &+= count
    }

    private func context(_ meta: Meta) -> FlowDecodeContext {
        contexts[Int(meta.context &- contextBase)]
    }

    private func entry(_ slot: Int) -> Entry {
        let meta = metas[slot]
        if meta.isRecord {
            return Entry(
                index: meta.index,
                raw: RawFlow(
                    record: slots.base[slot], seq: meta.seq, wallOffsetNs: meta.wallOffsetNs, context: context(meta)))
        }
        return Entry(index: meta.index, flow: decoded[slot] ?? Flow())
    }

    /// The kept record at `slot` in place (nil for a flow kept decoded).
    private func record(_ slot: Int) -> FlowRecordRef? {
        let meta = metas[slot]
        guard meta.isRecord else { return nil }
        return FlowRecordRef(
            pointer: slots.base + slot, seq: meta.seq, wallOffsetNs: meta.wallOffsetNs, context: context(meta))
    }

    /// The kept flows, oldest first.
    public var entries: [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(count)
        forEach {
            out.append($0)
            return true
        }
        return out
    }

    /// Calls `body` on each kept flow, oldest first, until it returns false.
    public func forEach(_ body: (Entry) -> Bool) {
        for i in 0..<count where !body(entry((start + i) % slots.count)) { return }
    }

    /// Calls `body` on each kept flow, newest first, until it returns false.
    public func forEachNewestFirst(_ body: (Entry) -> Bool) {
        for i in 0..<count where !body(entry((start + count - 1 - i) % slots.count)) { return }
    }

    /// Calls `body` on each kept record in place (no copy), oldest first, until it returns false;
    /// flows kept decoded are skipped. The reference is valid during the call only.
    public func forEachRecord(_ body: (FlowRecordRef) -> Bool) {
        for i in 0..<count {
            guard let ref = record((start + i) % slots.count) else { continue }
            if !body(ref) { return }
        }
    }

    private func time(_ slot: Int) -> Flow.Timestamp {
        let meta = metas[slot]
        guard meta.isRecord else { return decoded[slot]?.time ?? Flow.Timestamp() }
        return Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: slots.base[slot].time_ns) &+ meta.wallOffsetNs)
    }

    /// The oldest kept flow's time, if any.
    public var oldestTime: Flow.Timestamp? { count == 0 ? nil : time(start) }

    /// The newest kept flow's time, if any.
    public var newestTime: Flow.Timestamp? { count == 0 ? nil : time((start + count - 1) % slots.count) }
}
