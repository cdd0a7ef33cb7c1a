import SluiceModel
import XCTest

@testable import Proxy
@testable import SluiceIO

/// `EarliestDeadline`: one loop timer at the earliest deadline asked for, on a manual clock.
final class EarliestDeadlineTests: XCTestCase {
    final class Target: TimerTarget {
        var wakeup = EarliestDeadline()
        var fired: [UInt64] = []
        func timerFired(now: UInt64) {
            wakeup.fired()
            fired.append(now)
        }
    }

    func testOnlyAnEarlierDeadlineArmsTheTimerAgain() throws {
        let clock = ManualClock(startNs: 1000)
        let loop = try EventLoop(clock: clock)
        let t = Target()
        t.wakeup.arm(1500, on: loop, for: t)
        t.wakeup.arm(1800, on: loop, for: t)
        XCTAssertEqual(t.wakeup.armedAt, 1500, "a later deadline does not move the timer")
        XCTAssertEqual(loop.scheduledTimers, 1)
        t.wakeup.arm(1200, on: loop, for: t)
        XCTAssertEqual(t.wakeup.armedAt, 1200)
        clock.advance(by: 200)
        loop.runDueTimers()
        XCTAssertEqual(t.fired.first, 1200)
        XCTAssertEqual(t.wakeup.armedAt, 0, "fired: not armed until asked again")
        t.wakeup.arm(1900, on: loop, for: t)
        XCTAssertEqual(t.wakeup.armedAt, 1900)
    }
}
