import SluiceModel
import XCTest

/// `ManualClock`, the one test implementation of `Clock`: it stands still until advanced, from
/// any thread, and says that it does not move by itself (so an event loop waits for events only).
final class ClockTests: XCTestCase {
    func testManualClockStandsStillUntilAdvanced() {
        let clock = ManualClock(startNs: 500)
        XCTAssertEqual(clock.nowNs(), 500)
        XCTAssertEqual(clock.nowNs(), 500, "reading does not move the time")
        clock.advance(by: 250)
        XCTAssertEqual(clock.nowNs(), 750)
        XCTAssertFalse(clock.movesByItself)
        XCTAssertEqual(ManualClock().nowNs(), 1_000_000_000, "the default start is not 0")
    }

    func testManualClockAdvancesFromManyThreadsWithoutLosingTime() {
        let clock = ManualClock(startNs: 0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 { clock.advance(by: 3) }
        }
        XCTAssertEqual(clock.nowNs(), 8 * 1000 * 3)
    }

    func testAClockIsUsableThroughTheProtocol() {
        let manual = ManualClock(startNs: 42)
        let clock: any Clock = manual
        manual.advance(by: 8)
        XCTAssertEqual(clock.nowNs(), 50)
    }
}
