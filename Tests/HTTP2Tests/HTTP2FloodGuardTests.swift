import HTTP2
import XCTest

/// The flood guard alone, fed frame facts and a manual clock reading (nanoseconds).
final class HTTP2FloodGuardTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func guardian(_ change: (inout HTTP2Limits) -> Void = { _ in }) -> HTTP2FloodGuard {
        var limits = HTTP2Limits()
        change(&limits)
        return HTTP2FloodGuard(limits: limits)
    }

    func testPingsOverTheLimitWithinOneSecond() {
        var g = guardian { $0.maxPingsPerSecond = 3 }
        for i in 0..<3 { g.frameBegins(type: 0x6, length: 8, flags: 0, nowNs: UInt64(i)) }
        // ACKs do not count.
        for _ in 0..<10 { g.frameBegins(type: 0x6, length: 8, flags: 0x1, nowNs: 10) }
        XCTAssertNil(g.violation)
        g.frameBegins(type: 0x6, length: 8, flags: 0, nowNs: 20)
        XCTAssertEqual(g.violation, .pingFlood)
        XCTAssertEqual(g.violation?.rawValue, "PING flood")
    }

    func testTheWindowRestartsEverySecond() {
        var g = guardian { $0.maxPingsPerSecond = 3 }
        for window in 0..<5 {
            for i in 0..<3 { g.frameBegins(type: 0x6, length: 8, flags: 0, nowNs: UInt64(window) * second + UInt64(i)) }
        }
        XCTAssertNil(g.violation)
        // Four in the last window, just before it ends.
        g.frameBegins(type: 0x6, length: 8, flags: 0, nowNs: 5 * second - 1)
        XCTAssertEqual(g.violation, .pingFlood)
    }

    func testSettingsAndResetFloods() {
        var settings = guardian { $0.maxSettingsPerSecond = 2 }
        for _ in 0..<2 { settings.frameBegins(type: 0x4, length: 6, flags: 0, nowNs: 0) }
        settings.frameBegins(type: 0x4, length: 0, flags: 0x1, nowNs: 0)
        XCTAssertNil(settings.violation)
        settings.frameBegins(type: 0x4, length: 6, flags: 0, nowNs: 0)
        XCTAssertEqual(settings.violation, .settingsFlood)

        var resets = guardian { $0.maxResetsPerSecond = 2 }
        for _ in 0..<2 { resets.frameBegins(type: 0x3, length: 4, flags: 0, nowNs: 0) }
        XCTAssertNil(resets.violation)
        resets.frameBegins(type: 0x3, length: 4, flags: 0, nowNs: 0)
        XCTAssertEqual(resets.violation, .resetFlood)
    }

    func testEmptyFramesMustNotFollowEachOther() {
        var g = guardian()
        g.frameBegins(type: 0x0, length: 0, flags: 0, nowNs: 0)
        g.frameBegins(type: 0x0, length: 10, flags: 0, nowNs: 0)
        g.frameBegins(type: 0x0, length: 0, flags: 0, nowNs: 0)
        // An empty frame with END_STREAM is how a body ends.
        g.frameBegins(type: 0x0, length: 0, flags: 0x1, nowNs: 0)
        XCTAssertNil(g.violation)
        g.frameBegins(type: 0x1, length: 0, flags: 0, nowNs: 0)
        XCTAssertEqual(g.violation, .emptyFrames)
    }

    func testContinuationsAfterOneHeaders() {
        var g = guardian { $0.maxContinuations = 2 }
        g.frameBegins(type: 0x1, length: 10, flags: 0, nowNs: 0)
        for _ in 0..<2 { g.frameBegins(type: 0x9, length: 10, flags: 0, nowNs: 0) }
        g.frameBegins(type: 0x1, length: 10, flags: 0, nowNs: 0)
        for _ in 0..<2 { g.frameBegins(type: 0x9, length: 10, flags: 0, nowNs: 0) }
        XCTAssertNil(g.violation)
        g.frameBegins(type: 0x9, length: 10, flags: 0, nowNs: 0)
        XCTAssertEqual(g.violation, .continuationFlood)
    }

    func testRapidResetNeedsEnoughStreamsAndHalfOfThemReset() {
        var g = guardian { $0.prematureResetMinStreams = 10 }
        for _ in 0..<9 { g.streamOpened() }
        for _ in 0..<9 { g.streamReset(answered: false) }
        XCTAssertNil(g.violation, "below the minimum stream count")
        g.streamOpened()
        g.streamReset(answered: false)
        XCTAssertEqual(g.violation, .rapidReset)
        XCTAssertEqual(g.streamsOpened, 10)
        XCTAssertEqual(g.prematureResets, 10)

        var answered = guardian { $0.prematureResetMinStreams = 10 }
        for _ in 0..<20 { answered.streamOpened() }
        for _ in 0..<9 { answered.streamReset(answered: false) }
        for _ in 0..<20 { answered.streamReset(answered: true) }
        XCTAssertNil(answered.violation, "9 of 20 premature")
        XCTAssertEqual(answered.prematureResets, 9)
        answered.streamReset(answered: false)
        XCTAssertEqual(answered.violation, .rapidReset)
    }

    func testTheFirstViolationIsKept() {
        var g = guardian {
            $0.maxPingsPerSecond = 0
            $0.maxSettingsPerSecond = 0
        }
        g.frameBegins(type: 0x4, length: 0, flags: 0, nowNs: 0)
        g.frameBegins(type: 0x6, length: 8, flags: 0, nowNs: 0)
        XCTAssertEqual(g.violation, .settingsFlood)
    }

    func testOtherFrameTypesCountForNothing() {
        var g = guardian {
            $0.maxPingsPerSecond = 0
            $0.maxResetsPerSecond = 0
            $0.maxSettingsPerSecond = 0
        }
        for type: UInt8 in [0x2, 0x5, 0x7, 0x8, 0xA, 0xFF] {
            for _ in 0..<5 { g.frameBegins(type: type, length: 0, flags: 0, nowNs: 0) }
        }
        XCTAssertNil(g.violation)
    }
}
