import Flows

/// The last `capacity` flows this observer decoded, oldest first, with Hubble's counters: what
/// `GetFlows` without `follow` reads, and `ServerStatus` reports (`max_flows`, `num_flows`,
/// `seen_flows`, lost events). Hubble's ring buffer keeps `max_flows` (`--hubble-event-buffer-capacity`,
/// default 4095) decoded events; this is the same, in a fixed array reused in place.
///
/// Not thread-safe: owned by the observer's event loop, like everything it hands out.
public struct FlowHistory {
    /// One kept flow and its position in the sequence of every flow this observer saw.
    public struct Entry {
        /// 0 for the first flow the observer saw, then 1, 2, ... (never reused).
        public var index: UInt64
        public var flow: Flow
    }

    /// `max_flows`.
    public let capacity: Int
    private var slots: [Entry] = []
    private var next = 0
    /// `seen_flows`: every flow appended since start.
    public private(set) var seenFlows: UInt64 = 0
    /// Records the flow ring overwrote before this observer read them (HUBBLE_RING_BUFFER).
    public private(set) var lostEvents: UInt64 = 0

    /// An empty history of `capacity` flows (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        slots.reserveCapacity(self.capacity)
    }

    /// `num_flows`: how many flows are kept now.
    public var count: Int { slots.count }

    /// Keeps `flow`, replacing the oldest when full. Returns its index.
    @discardableResult
    public mutating func append(_ flow: Flow) -> UInt64 {
        let entry = Entry(index: seenFlows, flow: flow)
        if slots.count < capacity {
            slots.append(entry)
        } else {
            slots[next] = entry
            next = (next + 1) % capacity
        }
        seenFlows += 1
        return entry.index
    }

    /// Counts records lost before this observer read them.
    public mutating func noteLost(_ count: UInt64) {
        lostEvents &+= count
    }

    /// The kept flows, oldest first.
    public var entries: [Entry] {
        if slots.count < capacity || next == 0 { return slots }
        return Array(slots[next...] + slots[..<next])
    }

    /// Calls `body` on each kept flow, oldest first, until it returns false.
    public func forEach(_ body: (Entry) -> Bool) {
        let n = slots.count
        let start = n < capacity ? 0 : next
        for i in 0..<n where !body(slots[(start + i) % n]) { return }
    }

    /// Calls `body` on each kept flow, newest first, until it returns false.
    public func forEachNewestFirst(_ body: (Entry) -> Bool) {
        let n = slots.count
        guard n > 0 else { return }
        let newest = n < capacity ? n - 1 : (next + n - 1) % n
        for i in 0..<n where !body(slots[(newest - i + n) % n]) { return }
    }

    /// The oldest kept flow's time, if any.
    public var oldestTime: Flow.Timestamp? {
        var time: Flow.Timestamp?
        forEach {
            time = $0.flow.time
            return false
        }
        return time
    }

    /// The newest kept flow's time, if any.
    public var newestTime: Flow.Timestamp? {
        var time: Flow.Timestamp?
        forEachNewestFirst {
            time = $0.flow.time
            return false
        }
        return time
    }
}
