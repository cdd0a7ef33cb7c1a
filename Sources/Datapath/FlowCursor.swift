public import CSluiceShared

/// A reader's position in the flow ring (`FlowRing`): hands out the records in sequence order
/// and says how many were lost when the reader fell behind, the way Hubble's observer reports
/// `lost_events` from its ring buffer (HUBBLE_RING_BUFFER). The datapath never waits for a
/// reader: writers overwrite the oldest record, and a cursor that finds its next record
/// overwritten skips to the oldest one still in the ring and reports the gap.
public struct FlowCursor: Sendable {
    /// What `next` found.
    public enum Event {
        /// Record `seq`.
        case record(seq: UInt64, sluice_flow)
        /// `count` records were overwritten before this reader got to them.
        case lost(count: UInt64)
        /// Nothing to read now (caught up, or the next record is still being written).
        case idle
    }

    /// The sequence number of the next record this cursor hands out.
    public private(set) var seq: UInt64
    /// How long a record may stay half-written before it counts as lost (a writer that died
    /// between taking a sequence number and publishing it).
    public let pendingTimeoutNs: UInt64
    private var pendingSinceNs: UInt64?
    /// The ring's head as last read: records below it were taken. Read again only when the cursor
    /// reaches it or finds a record overwritten (the writers change that line per record; reading
    /// it per record was a cache miss each time).
    private var knownHead: UInt64 = 0

    /// A cursor at `seq` (`FlowRing.nextSeq` to read only new records, or the oldest kept one).
    public init(seq: UInt64, pendingTimeoutNs: UInt64 = 1_000_000_000) {
        self.seq = seq
        self.pendingTimeoutNs = pendingTimeoutNs
    }

    /// A cursor at the oldest record `ring` still holds.
    public static func oldest(in ring: FlowRing) -> FlowCursor {
        let head = ring.nextSeq
        return FlowCursor(seq: head > FlowRing.capacity ? head - FlowRing.capacity : 0)
    }

    /// The next event; `nowNs` is a monotonic clock reading (for the pending timeout).
    public mutating func next(in ring: FlowRing, nowNs: UInt64) -> Event {
        switch step(in: ring, nowNs: nowNs, read: { $0.pointee }) {
        case .record(let seq, let record): .record(seq: seq, record)
        case .lost(let count): .lost(count: count)
        case .idle: .idle
        }
    }

    /// What `next(in:nowNs:copy:)` found.
    public enum Copied {
        /// Record `seq`, copied by `copy`.
        case record(seq: UInt64)
        case lost(count: UInt64)
        case idle
    }

    /// The next event, the record handed to `copy` in place in the ring (`FlowRing.read(seq:_:)`:
    /// what `copy` copied counts only when the record was not overwritten meanwhile; else this
    /// says `.lost`). The observer copies the record into its history this way, once.
    public mutating func next(
        in ring: FlowRing, nowNs: UInt64, copy: (UnsafePointer<sluice_flow>) -> Void
    ) -> Copied {
        switch step(in: ring, nowNs: nowNs, read: copy) {
        case .record(let seq, _): .record(seq: seq)
        case .lost(let count): .lost(count: count)
        case .idle: .idle
        }
    }

    private enum Step<Result> {
        case record(seq: UInt64, Result)
        case lost(count: UInt64)
        case idle
    }

    /// Past the records the ring no longer holds, to the oldest it does (`head` is current).
    private mutating func skipToOldest<Result>(head: UInt64) -> Step<Result> {
        let lost = head - FlowRing.capacity - seq
        seq = head - FlowRing.capacity
        pendingSinceNs = nil
        return .lost(count: lost)
    }

    private mutating func step<Result>(
        in ring: FlowRing, nowNs: UInt64, read: (UnsafePointer<sluice_flow>) -> Result
    ) -> Step<Result> {
        var head = knownHead
        if seq >= head {
            head = ring.nextSeq
            knownHead = head
            guard seq < head else { return .idle }
        }
        if head - seq > FlowRing.capacity { return skipToOldest(head: head) }
        switch ring.read(seq: seq, taken: true, read) {
        case .record(let result):
            pendingSinceNs = nil
            seq += 1
            // The record after the next one, if taken, is fetched while these two are handled
            // (its lines were written on another core: each read missed before).
            if seq &+ 1 < head { ring.prefetch(seq: seq &+ 1) }
            return .record(seq: seq - 1, result)
        case .overwritten:
            // The head read earlier may be stale: a reader that fell behind skips every record
            // the ring no longer holds at once, as with a fresh head.
            head = ring.nextSeq
            knownHead = head
            if head - seq > FlowRing.capacity { return skipToOldest(head: head) }
            pendingSinceNs = nil
            seq += 1
            return .lost(count: 1)
        case .pending:
            guard let since = pendingSinceNs else {
                pendingSinceNs = nowNs
                return .idle
            }
            guard nowNs &- since >= pendingTimeoutNs else { return .idle }
            pendingSinceNs = nil
            seq += 1
            return .lost(count: 1)
        }
    }
}
