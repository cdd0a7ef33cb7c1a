import Synchronization

/// Where code reads the time: nanoseconds on one clock. The one clock protocol of the tree. The
/// agent's code is given a `SystemClock` (SluiceIO: CLOCK_MONOTONIC, the clock of
/// `bpf_ktime_get_ns`, so flow records from the kernel and from the proxy sort together; or its
/// coarse or wall-clock variant); tests give a `ManualClock` and move the time themselves, so
/// timers, timeouts and rate windows are tested without waiting.
public protocol Clock: Sendable {
    /// Nanoseconds on this clock.
    func nowNs() -> UInt64
    /// Whether the time moves by itself. An event loop on a clock that does not (a `ManualClock`)
    /// waits for events only; its test moves the time and then fires the due timers.
    var movesByItself: Bool { get }
}

/// A clock that stands still until `advance(by:)`: the time of a test's event loop or HTTP/2
/// session. Any thread.
public final class ManualClock: Clock {
    private let ns: Atomic<UInt64>

    /// Starts at `startNs` (not 0 by default, so "deadline 0" never looks like a passed deadline
    /// by accident).
    public init(startNs: UInt64 = 1_000_000_000) { ns = Atomic(startNs) }

    public func nowNs() -> UInt64 { ns.load(ordering: .acquiring) }

    public var movesByItself: Bool { false }

    /// Moves the time forward. Timers of a loop on this clock fire at its next `runDueTimers()`.
    public func advance(by deltaNs: UInt64) { ns.add(deltaNs, ordering: .acquiringAndReleasing) }
}
