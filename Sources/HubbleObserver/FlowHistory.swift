import CSluiceShared
import Flows

/// The last `capacity` flows this observer read, oldest first, with Hubble's counters: what
/// `GetFlows` without `follow` reads, and `ServerStatus` reports (`max_flows`, `num_flows`,
/// `seen_flows`, lost events). Hubble's ring buffer keeps `max_flows` (`--hubble-event-buffer-capacity`,
/// default 4095) events; this is the same, in fixed arrays reused in place. Flows read from the
/// ring are kept as their records (`RawFlow`: a 1 KiB copy, no decode) and decoded when a
/// `GetFlows` reads them (`Entry.flow`); flows handed in decoded (tests, `Observer.ingest(_:)`)
/// are kept decoded.
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

    /// Where slot `i`'s flow is: `records[i]` with `metas[i]`, or `decoded[i]`.
    private struct Meta {
        var index: UInt64
        var seq: UInt64
        var wallOffsetNs: Int64
        var context: FlowDecodeContext?
    }

    /// `max_flows`.
    public let capacity: Int
    private var records: [sluice_flow] = []
    private var metas: [Meta] = []
    private var decoded: [Int: Flow] = [:]
    private var next = 0
    /// `seen_flows`: every flow appended since start.
    public private(set) var seenFlows: UInt64 = 0
    /// Records the flow ring overwrote before this observer read them (HUBBLE_RING_BUFFER).
    public private(set) var lostEvents: UInt64 = 0

    /// An empty history of `capacity` flows (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// `num_flows`: how many flows are kept now.
    public var count: Int { metas.count }

    /// Keeps `flow`, replacing the oldest when full. Returns its index.
    @discardableResult
    public mutating func append(_ flow: Flow) -> UInt64 {
        let slot = take(Meta(index: seenFlows, seq: 0, wallOffsetNs: 0, context: nil), sluice_flow())
        decoded[slot] = flow
        return seenFlows - 1
    }

    /// Keeps the record `raw` (undecoded), replacing the oldest when full. Returns its index.
    @discardableResult
    public mutating func append(_ raw: borrowing RawFlow) -> UInt64 {
        let slot = take(
            Meta(index: seenFlows, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs, context: raw.context), raw.record)
        if !decoded.isEmpty { decoded[slot] = nil }
        return seenFlows - 1
    }

    /// Stores `meta` and `record` in the next slot; returns the slot.
    private mutating func take(_ meta: Meta, _ record: borrowing sluice_flow) -> Int {
        let slot: Int
        if metas.count < capacity {
            slot = metas.count
            metas.append(meta)
            records.append(copy record)
        } else {
            slot = next
            metas[slot] = meta
            records[slot] = copy record
            next = (next + 1) % capacity
        }
        seenFlows += 1
        return slot
    }

    /// Counts records lost before this observer read them.
    public mutating func noteLost(_ count: UInt64) {
        lostEvents &+= count
    }

    private func entry(_ slot: Int) -> Entry {
        let meta = metas[slot]
        if let context = meta.context {
            return Entry(
                index: meta.index,
                raw: RawFlow(record: records[slot], seq: meta.seq, wallOffsetNs: meta.wallOffsetNs, context: context))
        }
        return Entry(index: meta.index, flow: decoded[slot] ?? Flow())
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
        let n = metas.count
        let start = n < capacity ? 0 : next
        for i in 0..<n where !body(entry((start + i) % n)) { return }
    }

    /// Calls `body` on each kept flow, newest first, until it returns false.
    public func forEachNewestFirst(_ body: (Entry) -> Bool) {
        let n = metas.count
        guard n > 0 else { return }
        let newest = n < capacity ? n - 1 : (next + n - 1) % n
        for i in 0..<n where !body(entry((newest - i + n) % n)) { return }
    }

    /// The oldest kept flow's time, if any.
    public var oldestTime: Flow.Timestamp? {
        var time: Flow.Timestamp?
        forEach {
            time = $0.time
            return false
        }
        return time
    }

    /// The newest kept flow's time, if any.
    public var newestTime: Flow.Timestamp? {
        var time: Flow.Timestamp?
        forEachNewestFirst {
            time = $0.time
            return false
        }
        return time
    }
}
