import Glibc
import SluiceIO

/// Finds the streams of one `HTTP2Connection` whose body bytes wait for a peer that does not take
/// them, or takes them too slowly: its flow-control window stays at 0 (it never sends
/// WINDOW_UPDATE), it opens it a byte at a time (a WINDOW_UPDATE of 1 every 29 s would otherwise
/// keep a stream alive forever), or it does not read its socket at all. Either way the stream
/// holds a window's worth of our memory and, behind it, the other peer's stream; the connection
/// resets it, with an ERROR flow naming the slow peer and ETIMEDOUT.
///
/// The rule is a minimum progress rate per direction: while bytes are queued toward a peer, that
/// peer must take at least `min(minProgressBytes, bytes queued when the window began)` within
/// `HTTP2Limits.streamStallTimeoutNs` (30 s, `--http2-stream-stall-timeout-ms`); then a new
/// window begins. `minProgressBytes` is 16 KiB by default (`--http2-stream-min-progress-bytes`;
/// 1 makes any byte count as progress). Bytes the other side adds to the queue are never
/// progress, and a stream whose queue is empty is never stalled.
///
/// Scans run every quarter of the timeout (10 ms ... 1 s) while the connection has streams, never
/// per byte: the connection only adds what each DATA write sent to a per-stream counter.
/// Loop-thread only; the owner arms it and gives it the scan to run.
final class HTTP2StreamStall: TimerTarget {
    /// One direction's current window: when it began, the bytes sent so far then, and the bytes
    /// queued then.
    private struct Window: Equatable {
        var since: UInt64
        var sentAt: Int
        var queuedAt: Int
    }

    private struct Entry: Equatable {
        var toClient: Window?
        var toUpstream: Window?
    }

    /// The errno a stalled stream's flow carries.
    static let timedOut: Int32 = ETIMEDOUT

    let timeoutNs: UInt64
    let minProgressBytes: Int
    private let loop: EventLoop
    private let scan: () -> Void
    private lazy var timer = LoopTimer(target: self)
    private var armed = false
    private var previous: [Int32: Entry] = [:]
    private var current: [Int32: Entry] = [:]

    /// `scan`: the owner's pass over its streams (calls `check` for each through `scanning`).
    init(loop: EventLoop, timeoutNs: UInt64, minProgressBytes: Int = 16384, scan: @escaping () -> Void) {
        self.loop = loop
        self.timeoutNs = timeoutNs
        self.minProgressBytes = max(1, minProgressBytes)
        self.scan = scan
    }

    /// Time between scans.
    var intervalNs: UInt64 { min(max(timeoutNs / 4, 10_000_000), 1_000_000_000) }

    /// Schedules the next scan unless one is scheduled.
    func arm() {
        guard !armed else { return }
        armed = true
        loop.schedule(timer, at: loop.now + intervalNs)
    }

    func cancel() {
        guard armed else { return }
        armed = false
        loop.cancel(timer)
    }

    func timerFired(now: UInt64) {
        armed = false
        scan()
    }

    /// One scan: `body` calls `check` once per open stream; streams not checked are forgotten.
    func scanning(_ body: () -> Void) {
        current.removeAll(keepingCapacity: true)
        body()
        swap(&previous, &current)
    }

    /// A stream at this scan, with the body bytes queued toward the client and toward the
    /// upstream and the bytes sent so far to each (counters that only grow): the peer that took
    /// too little for the timeout, or nil.
    func check(
        stream: Int32, toClient: Int, toUpstream: Int, sentToClient: Int, sentToUpstream: Int, now: UInt64
    ) -> PeerSide? {
        guard toClient > 0 || toUpstream > 0 else { return nil }
        let seen = previous[stream]
        let entry = Entry(
            toClient: window(seen?.toClient, queued: toClient, sent: sentToClient, now: now),
            toUpstream: window(seen?.toUpstream, queued: toUpstream, sent: sentToUpstream, now: now))
        current[stream] = entry
        if let w = entry.toClient, now &- w.since >= timeoutNs { return .downstream }
        if let w = entry.toUpstream, now &- w.since >= timeoutNs { return .upstream }
        return nil
    }

    /// The direction's window after this scan: none while nothing is queued; a new one when the
    /// peer took enough since the last began.
    private func window(_ seen: Window?, queued: Int, sent: Int, now: UInt64) -> Window? {
        guard queued > 0 else { return nil }
        let fresh = Window(since: now, sentAt: sent, queuedAt: queued)
        guard let seen else { return fresh }
        return sent &- seen.sentAt >= min(minProgressBytes, seen.queuedAt) ? fresh : seen
    }
}
