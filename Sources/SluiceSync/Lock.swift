import Glibc

/// A pthread mutex: the one lock of the tree's threads (the agent's control plane, the Kubernetes
/// client's informers and writers, an event loop's task queue). Nothing on the relay path takes one.
public final class Lock: @unchecked Sendable {
    fileprivate let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` holding the lock.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A condition variable with its own mutex, waited on with a monotonic deadline (or none).
public final class Condition: @unchecked Sendable {
    private let mutex = Lock()
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    public func lock() { mutex.lock() }
    public func unlock() { mutex.unlock() }
    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Runs `body` holding the lock (`body` may `wait`).
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T { try mutex.withLock(body) }

    /// Waits (holding the lock) until signalled; may also return spuriously, so callers wait in
    /// a loop on their predicate.
    public func wait() { pthread_cond_wait(cond, mutex.mutex) }

    /// Waits (holding the lock) until signalled or until `deadlineNs` on the monotonic clock
    /// (`SystemClock.monotonicNs()`); returns false on timeout.
    @discardableResult
    public func wait(untilMonotonicNs deadlineNs: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadlineNs / 1_000_000_000), tv_nsec: Int(deadlineNs % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex.mutex, &ts) != ETIMEDOUT
    }
}
