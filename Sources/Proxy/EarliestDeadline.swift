import SluiceIO

/// A handler's one loop timer kept at the earliest deadline asked for (DNS forward timeouts, the
/// FQDN gate's release deadlines, a DNS-over-TCP connection's query and idle deadlines): asking
/// for a later time than the one armed does nothing; the target calls `fired()` first when the
/// timer runs, and re-arms for what is left.
struct EarliestDeadline {
    /// The time the timer is armed for; 0 when it is not armed.
    private(set) var armedAt: UInt64 = 0

    /// Arms `target`'s timer on `loop` for `at` unless it is armed for an earlier time already.
    mutating func arm(_ at: UInt64, on loop: EventLoop, for target: TimerTarget) {
        if armedAt == 0 || at < armedAt {
            armedAt = at
            loop.schedule(at: at, target)
        }
    }

    /// The timer ran: it is no longer armed.
    mutating func fired() { armedAt = 0 }
}
