import Glibc
import SluiceIO
import XCTest

final class WorkerThreadTests: XCTestCase {
    /// The calling thread's name, from /proc/thread-self/comm.
    static func threadName() -> String {
        let fd = open("/proc/thread-self/comm", O_RDONLY)
        guard fd >= 0 else { return "<no comm>" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return "<unreadable>" }
        var name = String(decoding: buffer[..<n], as: UTF8.self)
        while name.hasSuffix("\n") { name.removeLast() }
        return name
    }

    func testTheBodyRunsOnItsOwnNamedThreadAndJoinWaitsForIt() throws {
        final class Seen: @unchecked Sendable {
            var name = ""
            var sameThread = true
            var done = false
        }
        let seen = Seen()
        let caller = pthread_self()
        let worker = WorkerThread(name: "sluice-test-w") {
            seen.name = Self.threadName()
            seen.sameThread = pthread_equal(pthread_self(), caller) != 0
            // Some work after the checks, so a join that does not wait reads `done` false.
            var sum: UInt64 = 0
            for i in 0..<3_000_000 { sum &+= UInt64(i) ^ (sum >> 3) }
            seen.done = sum != 1
        }
        try worker.start()
        worker.join()
        XCTAssertTrue(seen.done)
        XCTAssertFalse(seen.sameThread)
        XCTAssertEqual(seen.name, "sluice-test-w")
    }
}
