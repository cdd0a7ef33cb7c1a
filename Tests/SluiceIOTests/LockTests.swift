import Glibc
import SluiceIO
import XCTest

final class LockTests: XCTestCase {
    private struct Failure: Error {}

    private func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    func testWithLockReturnsRethrowsAndAlwaysUnlocks() {
        let lock = Lock()
        XCTAssertEqual(lock.withLock { 42 }, 42)
        XCTAssertThrowsError(try lock.withLock { throw Failure() })
        // Unlocked after the throw, or this second withLock would deadlock.
        XCTAssertEqual(lock.withLock { "again" }, "again")
    }

    func testIncrementsFromFourThreadsAreNotLost() throws {
        final class Counter: @unchecked Sendable { var value = 0 }
        let lock = Lock()
        let counter = Counter()
        let workers = (0..<4).map { i in
            WorkerThread(name: "lock-test-\(i)") {
                for _ in 0..<20_000 { lock.withLock { counter.value += 1 } }
            }
        }
        for worker in workers { try worker.start() }
        for worker in workers { worker.join() }
        XCTAssertEqual(counter.value, 80_000)
    }

    func testConditionTimesOutAtAPastDeadline() {
        let condition = Condition()
        condition.lock()
        XCTAssertFalse(condition.wait(untilMonotonicNs: 0))
        XCTAssertFalse(condition.wait(untilMonotonicNs: monotonicNs() - 1))
        condition.unlock()
    }

    func testConditionWakesOnSignal() throws {
        final class Flag: @unchecked Sendable { var set = false }
        let condition = Condition()
        let flag = Flag()
        let signaller = WorkerThread(name: "cond-test") {
            condition.lock()
            flag.set = true
            condition.signal()
            condition.unlock()
        }
        condition.lock()
        try signaller.start()
        let deadline = monotonicNs() + 10_000_000_000
        var woke = true
        while !flag.set && woke { woke = condition.wait(untilMonotonicNs: deadline) }
        condition.unlock()
        signaller.join()
        XCTAssertTrue(flag.set)
        XCTAssertTrue(woke, "signalled well before the 10 s deadline")
    }
}
