import Foundation
import XCTest

@testable import KubeClient

/// A body on its own thread, joined; what it captures lives until it has run.
final class KubeThreadTests: XCTestCase {
    func testRunsTheBodyAndJoins() {
        final class Flag: @unchecked Sendable {
            var value = 0
            deinit {}
        }
        let flag = Flag()
        var thread: pthread_t? = KubeThread.start { [flag] in
            usleep(50_000)
            flag.value = pthread_self() == pthread_self() ? 1 : 0
        }
        XCTAssertNotNil(thread)
        KubeThread.join(&thread)
        XCTAssertNil(thread)
        XCTAssertEqual(flag.value, 1, "joined only after the body ran")
        KubeThread.join(&thread)  // nil: nothing
    }

    func testTheBodysCapturesLiveUntilItRan() {
        final class Witness: @unchecked Sendable {
            let gone: NSLock
            init(_ gone: NSLock) { self.gone = gone }
            deinit { gone.unlock() }
        }
        let gone = NSLock()
        gone.lock()
        var thread: pthread_t?
        do {
            let witness = Witness(gone)
            thread = KubeThread.start {
                usleep(50_000)
                _ = witness
            }
        }
        XCTAssertFalse(gone.try(), "the witness is kept by the running thread")
        KubeThread.join(&thread)
        XCTAssertTrue(gone.lock(before: Date().addingTimeInterval(5)), "released once the body returned")
    }
}
