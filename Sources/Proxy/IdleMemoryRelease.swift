internal import CSluice
import SluiceIO

/// Gives the memory of a worker's closed connections back to the kernel once the worker has
/// none left. glibc keeps the blocks a thread frees in that thread's arena, resident, and returns
/// only the arena's top: after 3 s of get-ka over 50 keep-alive connections the worker's arena
/// held 828 KiB resident with 70 KiB in use (docs/performance.md, s21-mem). When the worker's
/// last connection closes and at least `minimumClosed` connections closed since the last
/// release, a one-shot timer `delayNs` later runs `malloc_trim(0)` if the worker is still idle;
/// at most one release per `minimumIntervalNs`. A worker that always has connections open never
/// trims (its buffers are in use), and a trickle of single connections trims at most once per
/// interval.
///
/// Owned by the worker's `WorkerContext`; loop thread only.
final class IdleMemoryRelease: TimerTarget {
    /// Connections closed since the last release before an idle worker releases again.
    static let minimumClosed = 16
    /// How long the worker must stay without connections before it releases.
    static let delayNs: UInt64 = 100_000_000
    /// The least time between two releases of one worker.
    static let minimumIntervalNs: UInt64 = 1_000_000_000

    private let loop: EventLoop
    private lazy var timer = LoopTimer(target: self)
    /// Connections closed since the last release.
    private(set) var closedSinceRelease = 0
    private var lastReleaseNs: UInt64 = 0
    /// How many times this worker released (tests, diagnostics).
    private(set) var releases = 0
    /// Whether the worker has no connection (set by `connectionsChanged`).
    private var idle = true
    /// What a release does: `malloc_trim(0)` (tests count calls instead).
    private let release: () -> Void

    init(loop: EventLoop, release: @escaping () -> Void = { _ = CSluice_release_free_memory() }) {
        self.loop = loop
        self.release = release
    }

    deinit {
        if timer.isScheduled { loop.cancel(timer) }
    }

    /// The worker's connection count went from `old` to `new`.
    @inline(__always)
    func connectionsChanged(from old: Int, to new: Int) {
        idle = new == 0
        guard new < old else { return }
        closedSinceRelease += old - new
        if idle, closedSinceRelease >= Self.minimumClosed, !timer.isScheduled {
            let earliest = lastReleaseNs == 0 ? 0 : lastReleaseNs + Self.minimumIntervalNs
            loop.schedule(timer, at: max(loop.now + Self.delayNs, earliest))
        }
    }

    func timerFired(now: UInt64) {
        // a connection came meanwhile: the next time the worker goes idle schedules again
        guard idle else { return }
        release()
        releases += 1
        closedSinceRelease = 0
        lastReleaseNs = now
    }
}
