import XCTest

@testable import Datapath

final class SteeringEpochTests: XCTestCase {
    func testEachChangeBumpsTheEpochAndStampsTheTime() {
        let epoch = SteeringEpoch()
        XCTAssertEqual(epoch.current.epoch, 0)
        XCTAssertEqual(epoch.current.lastChangeNs, 0)
        epoch.changed()
        let first = epoch.current
        XCTAssertEqual(first.epoch, 1)
        XCTAssertGreaterThan(first.lastChangeNs, 0)
        epoch.changed()
        epoch.changed()
        let third = epoch.current
        XCTAssertEqual(third.epoch, 3)
        XCTAssertGreaterThanOrEqual(third.lastChangeNs, first.lastChangeNs, "the change time never goes back")
    }

    func testConcurrentChangesAreAllCounted() {
        let epoch = SteeringEpoch()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 { epoch.changed() }
        }
        XCTAssertEqual(epoch.current.epoch, 8000)
    }
}
