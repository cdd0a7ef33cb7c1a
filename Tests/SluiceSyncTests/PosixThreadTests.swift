import Glibc
import SluiceSync
import XCTest

final class PosixThreadTests: XCTestCase {
    func testTheBodyRunsOnANewThreadAndJoinWaitsForIt() {
        final class Seen: @unchecked Sendable {
            var sameThread = true
            var done = false
        }
        let seen = Seen()
        let caller = pthread_self()
        var thread = pthread_t()
        let r = PosixThread.start(&thread) {
            seen.sameThread = pthread_equal(pthread_self(), caller) != 0
            // Some work after the check, so a join that does not wait reads `done` false.
            var sum: UInt64 = 0
            for i in 0..<3_000_000 { sum &+= UInt64(i) ^ (sum >> 3) }
            seen.done = sum != 1
        }
        XCTAssertEqual(r, 0)
        XCTAssertEqual(pthread_join(thread, nil), 0, "the thread is joinable")
        XCTAssertTrue(seen.done)
        XCTAssertFalse(seen.sameThread)
    }

    func testTheThreadHoldsItsClosureUntilItReturnsThenReleasesIt() {
        final class Token: @unchecked Sendable {}
        weak var weakToken: Token?
        var thread = pthread_t()
        let gate = Condition()
        final class Flag: @unchecked Sendable { var open = false }
        let flag = Flag()
        do {
            let token = Token()
            weakToken = token
            let r = PosixThread.start(&thread) {
                gate.withLock { while !flag.open { gate.wait() } }
                withExtendedLifetime(token) {}
            }
            XCTAssertEqual(r, 0)
        }
        // The caller's reference is gone; the waiting thread's closure still holds the token.
        XCTAssertNotNil(weakToken)
        gate.withLock {
            flag.open = true
            gate.signal()
        }
        pthread_join(thread, nil)
        XCTAssertNil(weakToken, "released once the body returned")
    }
}
