import Glibc
import SluiceSync
import XCTest

final class LockTests: XCTestCase {
    private struct Failure: Error {}

    private func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A joinable thread running `body`.
    private final class TestThread {
        private var thread = pthread_t()
        init(_ body: @escaping () -> Void) {
            let r = PosixThread.start(&thread, body)
            precondition(r == 0, "pthread_create: \(r)")
        }
        func join() { pthread_join(thread, nil) }
    }

    func testWithLockReturnsRethrowsAndAlwaysUnlocks() {
        let lock = Lock()
        XCTAssertEqual(lock.withLock { 42 }, 42)
        XCTAssertThrowsError(try lock.withLock { throw Failure() })
        // Unlocked after the throw, or this second withLock would deadlock.
        XCTAssertEqual(lock.withLock { "again" }, "again")
    }

    func testIncrementsFromFourThreadsAreNotLost() {
        final class Counter: @unchecked Sendable { var value = 0 }
        let lock = Lock()
        let counter = Counter()
        let threads = (0..<4).map { _ in
            TestThread {
                for _ in 0..<20_000 { lock.withLock { counter.value += 1 } }
            }
        }
        for thread in threads { thread.join() }
        XCTAssertEqual(counter.value, 80_000)
    }

    func testConditionTimesOutAtAPastDeadline() {
        let condition = Condition()
        condition.lock()
        XCTAssertFalse(condition.wait(untilMonotonicNs: 0))
        XCTAssertFalse(condition.wait(untilMonotonicNs: monotonicNs() - 1))
        condition.unlock()
    }

    func testConditionTimesOutAfterAShortDeadline() {
        let condition = Condition()
        let start = monotonicNs()
        let woke = condition.withLock { condition.wait(untilMonotonicNs: start + 20_000_000) }
        XCTAssertFalse(woke, "nobody signals")
        XCTAssertGreaterThanOrEqual(monotonicNs() - start, 20_000_000, "waited until the monotonic deadline")
    }

    func testConditionWakesOnSignal() {
        final class Flag: @unchecked Sendable { var set = false }
        let condition = Condition()
        let flag = Flag()
        condition.lock()
        let signaller = TestThread {
            condition.lock()
            flag.set = true
            condition.signal()
            condition.unlock()
        }
        let deadline = monotonicNs() + 10_000_000_000
        var woke = true
        while !flag.set && woke { woke = condition.wait(untilMonotonicNs: deadline) }
        condition.unlock()
        signaller.join()
        XCTAssertTrue(flag.set)
        XCTAssertTrue(woke, "signalled well before the 10 s deadline")
    }

    func testUntimedWaitReturnsOnceAnotherThreadSignalsUnderTheLock() {
        final class Queue: @unchecked Sendable { var items: [Int] = [] }
        let condition = Condition()
        let queue = Queue()
        let producer = TestThread {
            for i in 1...100 {
                condition.withLock {
                    queue.items.append(i)
                    condition.signal()
                }
            }
        }
        var taken: [Int] = []
        while taken.count < 100 {
            condition.withLock {
                while queue.items.isEmpty { condition.wait() }
                taken += queue.items
                queue.items.removeAll()
            }
        }
        producer.join()
        XCTAssertEqual(taken, Array(1...100), "every item, in order, none lost while the consumer slept")
    }

    func testBroadcastWakesEveryWaiter() {
        final class State: @unchecked Sendable {
            var open = false
            var passed = 0
        }
        let condition = Condition()
        let state = State()
        let waiters = (0..<3).map { _ in
            TestThread {
                condition.withLock {
                    while !state.open { condition.wait() }
                    state.passed += 1
                }
            }
        }
        condition.withLock {
            state.open = true
            condition.broadcast()
        }
        for waiter in waiters { waiter.join() }
        XCTAssertEqual(condition.withLock { state.passed }, 3)
    }
}
