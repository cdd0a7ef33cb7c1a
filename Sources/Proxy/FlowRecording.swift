import Synchronization

/// Whether the proxy writes flow records right now. `--no-flows` leaves the sink out for the
/// agent's whole life; this switch pauses and resumes the records of a running agent (the control
/// operations `flows-pause` and `flows-resume`, `sluice flows pause|resume`) without a restart,
/// for an operator who wants a node's records off for a while, and for `bench/run.sh`, which
/// measures what recording costs by switching it within one agent (docs/performance.md).
///
/// One per agent, shared by every worker and read on every request: a relaxed atomic load (a
/// plain load on x86-64 and arm64). An HTTP request reads it once, when it is decided: its
/// request and response flows are written, or neither, whenever the switch moves.
public final class FlowRecording: Sendable {
    private let paused: Atomic<Bool>

    public init(paused: Bool = false) {
        self.paused = Atomic(paused)
    }

    /// Records are written (not paused).
    @inline(__always)
    public var isOn: Bool { !paused.load(ordering: .relaxed) }

    /// Stops the records from the next decided request, DNS query or TLS decision on.
    public func pause() { paused.store(true, ordering: .relaxed) }

    /// Writes records again.
    public func resume() { paused.store(false, ordering: .relaxed) }
}
