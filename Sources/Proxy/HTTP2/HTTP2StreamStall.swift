import Glibc
import SluiceIO

/// Finds the streams of one `HTTP2Connection` whose body bytes wait for a peer that does not take
/// them: its flow-control window stays at 0 (it never sends WINDOW_UPDATE), or it does not read
/// its socket at all. Either way the stream holds a window's worth of our memory and, behind it,
/// the other peer's stream; after `HTTP2Limits.streamStallTimeoutNs` (30 s by default,
/// `--http2-stream-stall-timeout-ms`) the connection resets it, with an ERROR flow naming the
/// stuck peer and ETIMEDOUT.
///
/// A stream is stalled toward a peer while bytes are queued for it and that count has not changed
/// since the previous scan: a stream whose bytes keep leaving (or whose queue is empty) is never
/// stalled. Scans run every quarter of the timeout (10 ms ... 1 s) while the connection has
/// streams, never per byte. Loop-thread only; the owner arms it and gives it the scan to run.
final class HTTP2StreamStall: TimerTarget {
    private struct Entry: Equatable {
        var since: UInt64
        var toClient: Int
        var toUpstream: Int
    }

    /// The errno a stalled stream's flow carries.
    static let timedOut: Int32 = ETIMEDOUT

    let timeoutNs: UInt64
    private let loop: EventLoop
    private let scan: () -> Void
    private lazy var timer = LoopTimer(target: self)
    private var armed = false
    private var previous: [Int32: Entry] = [:]
    private var current: [Int32: Entry] = [:]

    /// `scan`: the owner's pass over its streams (calls `check` for each through `scanning`).
    init(loop: EventLoop, timeoutNs: UInt64, scan: @escaping () -> Void) {
        self.loop = loop
        self.timeoutNs = timeoutNs
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
    /// upstream: the peer it has been stalled on for the timeout, or nil.
    func check(stream: Int32, toClient: Int, toUpstream: Int, now: UInt64) -> PeerSide? {
        guard toClient > 0 || toUpstream > 0 else { return nil }
        var entry = Entry(since: now, toClient: toClient, toUpstream: toUpstream)
        if let seen = previous[stream], seen.toClient == toClient, seen.toUpstream == toUpstream {
            entry.since = seen.since
        }
        current[stream] = entry
        guard now &- entry.since >= timeoutNs else { return nil }
        return toClient > 0 ? .downstream : .upstream
    }
}
