import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// The stall detector on its own: scans of (stream, bytes queued toward the client, toward the
/// upstream) in, the stuck peer out once nothing moved for the timeout. The connection-level
/// behaviour (RST_STREAM / 504 and the ERROR flow) is in HTTP2ConnectionHostileTests.
final class HTTP2StreamStallTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func detector(timeout: UInt64) throws -> (HTTP2StreamStall, EventLoop, ManualClock) {
        let clock = ManualClock()
        let loop = try EventLoop(clock: clock)
        loop.runDueTimers()  // `now` from the clock
        return (HTTP2StreamStall(loop: loop, timeoutNs: timeout, scan: {}), loop, clock)
    }

    /// One scan over `streams` (id, toClient, toUpstream) at `now`: the stalled ones.
    private func scan(_ d: HTTP2StreamStall, _ now: UInt64, _ streams: [(Int32, Int, Int)]) -> [Int32: PeerSide] {
        var out: [Int32: PeerSide] = [:]
        d.scanning {
            for (id, c, u) in streams {
                if let side = d.check(stream: id, toClient: c, toUpstream: u, now: now) { out[id] = side }
            }
        }
        return out
    }

    func testBytesThatDoNotMoveForTheTimeoutAreAStall() throws {
        let (d, _, _) = try detector(timeout: 30 * second)
        XCTAssertEqual(scan(d, 1 * second, [(1, 4096, 0), (3, 0, 8192), (5, 0, 0)]), [:])
        XCTAssertEqual(scan(d, 30 * second, [(1, 4096, 0), (3, 0, 8192), (5, 0, 0)]), [:], "29 s: not yet")
        XCTAssertEqual(
            scan(d, 31 * second, [(1, 4096, 0), (3, 0, 8192), (5, 0, 0)]), [1: .downstream, 3: .upstream],
            "30 s without a byte leaving; the idle stream 5 is never stalled")
    }

    func testMovingBytesRestartTheClock() throws {
        let (d, _, _) = try detector(timeout: 10 * second)
        XCTAssertEqual(scan(d, 0, [(1, 100, 0)]), [:])
        XCTAssertEqual(scan(d, 9 * second, [(1, 90, 0)]), [:], "some left")
        XCTAssertEqual(scan(d, 18 * second, [(1, 90, 0)]), [:], "9 s since the last change")
        XCTAssertEqual(scan(d, 19 * second, [(1, 90, 0)]), [1: .downstream])
    }

    func testAStreamMissingFromAScanIsForgotten() throws {
        let (d, _, _) = try detector(timeout: 10 * second)
        XCTAssertEqual(scan(d, 0, [(1, 100, 0)]), [:])
        XCTAssertEqual(scan(d, 5 * second, []), [:])
        XCTAssertEqual(scan(d, 10 * second, [(1, 100, 0)]), [:], "seen again: counted from now")
        XCTAssertEqual(scan(d, 20 * second, [(1, 100, 0)]), [1: .downstream])
    }

    func testScansAreArmedOnceAtAQuarterOfTheTimeoutBetween10msAnd1s() throws {
        let (d, loop, _) = try detector(timeout: 2 * second)
        XCTAssertEqual(d.intervalNs, second / 2)
        d.arm()
        d.arm()
        XCTAssertEqual(loop.nextDeadline, loop.now + second / 2)
        d.cancel()
        XCTAssertNil(loop.nextDeadline)
        XCTAssertEqual(try detector(timeout: 30 * second).0.intervalNs, second)
        XCTAssertEqual(try detector(timeout: 1_000_000).0.intervalNs, 10_000_000)
    }

    func testTheTimerRunsTheOwnersScan() throws {
        let clock = ManualClock()
        let loop = try EventLoop(clock: clock)
        loop.runDueTimers()
        var scans = 0
        let d = HTTP2StreamStall(loop: loop, timeoutNs: 4 * second, scan: { scans += 1 })
        d.arm()
        clock.advance(by: second - 1)
        loop.runDueTimers()
        XCTAssertEqual(scans, 0)
        clock.advance(by: 1)
        loop.runDueTimers()
        XCTAssertEqual(scans, 1)
        XCTAssertNil(loop.nextDeadline, "re-armed only by the owner")
    }
}
