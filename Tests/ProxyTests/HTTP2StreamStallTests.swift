import HTTP2
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// The stall detector on its own: scans of (stream, bytes queued toward the client, toward the
/// upstream) in, the stuck peer out once nothing moved for the timeout. The connection-level
/// behaviour (RST_STREAM / 504 and the ERROR flow) is in HTTP2ConnectionHostileTests.
final class HTTP2StreamStallTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func detector(timeout: UInt64, minProgress: Int = 1) throws -> (HTTP2StreamStall, EventLoop, ManualClock) {
        let clock = ManualClock()
        let loop = try EventLoop(clock: clock)
        loop.runDueTimers()  // `now` from the clock
        return (HTTP2StreamStall(loop: loop, timeoutNs: timeout, minProgressBytes: minProgress, scan: {}), loop, clock)
    }

    /// What each stream of a test sent so far toward the client and the upstream, derived from
    /// its queue: a queue that shrank sent the difference.
    private var sent: [Int32: (client: Int, upstream: Int, lastClient: Int, lastUpstream: Int)] = [:]

    /// One scan over `streams` (id, toClient, toUpstream) at `now`: the stalled ones. Bytes that
    /// left a queue since the last scan count as sent.
    private func scan(_ d: HTTP2StreamStall, _ now: UInt64, _ streams: [(Int32, Int, Int)]) -> [Int32: PeerSide] {
        var out: [Int32: PeerSide] = [:]
        d.scanning {
            for (id, c, u) in streams {
                var s = sent[id] ?? (0, 0, c, u)
                s.client += max(0, s.lastClient - c)
                s.upstream += max(0, s.lastUpstream - u)
                s.lastClient = c
                s.lastUpstream = u
                sent[id] = s
                if let side = d.check(
                    stream: id, toClient: c, toUpstream: u, sentToClient: s.client, sentToUpstream: s.upstream,
                    now: now)
                {
                    out[id] = side
                }
            }
        }
        return out
    }

    /// One scan of one stream with its counters given as they are.
    private func check(
        _ d: HTTP2StreamStall, _ now: UInt64, queuedToClient: Int, sentToClient: Int
    ) -> PeerSide? {
        var side: PeerSide?
        d.scanning {
            side = d.check(
                stream: 1, toClient: queuedToClient, toUpstream: 0, sentToClient: sentToClient, sentToUpstream: 0,
                now: now)
        }
        return side
    }

    func testAWindowOpenedOneByteEvery29SecondsIsAStall() throws {
        // The peer keeps 256 KiB queued and takes 1 byte every 29 s: each window of 30 s sees 1
        // byte of the 16 KiB the default asks for, so the stream is reset at 30 s, not kept.
        let (d, _, _) = try detector(timeout: 30 * second, minProgress: 16384)
        XCTAssertEqual(d.minProgressBytes, 16384)
        XCTAssertNil(check(d, 0, queuedToClient: 262_144, sentToClient: 0))
        XCTAssertNil(check(d, 29 * second, queuedToClient: 262_144, sentToClient: 1))
        XCTAssertEqual(check(d, 30 * second, queuedToClient: 262_144, sentToClient: 1), .downstream)
    }

    func testEnoughProgressStartsANewWindowAndSmallQueuesNeedOnlyTheirOwnSize() throws {
        let (d, _, _) = try detector(timeout: 30 * second, minProgress: 16384)
        XCTAssertNil(check(d, 0, queuedToClient: 262_144, sentToClient: 0))
        XCTAssertNil(check(d, 29 * second, queuedToClient: 262_144, sentToClient: 16384), "16 KiB taken: new window")
        XCTAssertNil(check(d, 58 * second, queuedToClient: 262_144, sentToClient: 16384 + 100))
        XCTAssertEqual(check(d, 59 * second, queuedToClient: 262_144, sentToClient: 16384 + 100), .downstream)
        // A stream with 10 bytes queued (a slow event stream) progresses by taking those 10.
        let (e, _, _) = try detector(timeout: 30 * second, minProgress: 16384)
        XCTAssertNil(check(e, 0, queuedToClient: 10, sentToClient: 0))
        XCTAssertNil(check(e, 29 * second, queuedToClient: 10, sentToClient: 10))
        XCTAssertNil(check(e, 58 * second, queuedToClient: 10, sentToClient: 20))
        XCTAssertNil(check(e, 87 * second, queuedToClient: 10, sentToClient: 30))
    }

    func testBytesAddedToTheQueueAreNotProgress() throws {
        let (d, _, _) = try detector(timeout: 10 * second, minProgress: 1)
        XCTAssertNil(check(d, 0, queuedToClient: 100, sentToClient: 0))
        XCTAssertNil(check(d, 5 * second, queuedToClient: 5000, sentToClient: 0))
        XCTAssertEqual(check(d, 10 * second, queuedToClient: 9000, sentToClient: 0), .downstream)
    }

    func testTheDefaultMinimumIs16KiBAndTheOptionIsChecked() throws {
        XCTAssertEqual(HTTP2Limits.default.streamMinProgressBytes, 16384)
        XCTAssertEqual(try HTTP2Limits.withOptions(streamMinProgressBytes: 1).streamMinProgressBytes, 1)
        XCTAssertThrowsError(try HTTP2Limits.withOptions(streamMinProgressBytes: 0))
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
