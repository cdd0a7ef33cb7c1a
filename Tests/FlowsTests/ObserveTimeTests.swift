import XCTest

@testable import Flows

/// `--since`/`--until` values: Go durations back from now, RFC 3339 instants and dates.
final class ObserveTimeTests: XCTestCase {
    func testSinceUntilValues() {
        let now = Flow.Timestamp(seconds: 1_785_578_400, nanos: 0)
        XCTAssertEqual(ObserveTime.parse("1m", now: now), Flow.Timestamp(seconds: 1_785_578_340))
        XCTAssertEqual(ObserveTime.parse("2h30m", now: now), Flow.Timestamp(seconds: 1_785_578_400 - 9000))
        XCTAssertEqual(ObserveTime.parse("1.5s", now: now), Flow.Timestamp(seconds: 1_785_578_398, nanos: 500_000_000))
        XCTAssertEqual(ObserveTime.parse("300ms", now: now), Flow.Timestamp(seconds: 1_785_578_399, nanos: 700_000_000))
        XCTAssertEqual(ObserveTime.parse("2026-08-01T10:00:00Z", now: .init()), now)
        XCTAssertEqual(
            ObserveTime.parse("2026-08-01T12:00:00.5+02:00", now: .init()),
            Flow.Timestamp(seconds: 1_785_578_400, nanos: 500_000_000))
        XCTAssertEqual(ObserveTime.parse("2026-08-01T10:00:00", now: .init()), now)
        XCTAssertEqual(ObserveTime.parse("2026-08-01 10:00:00", now: .init()), now)
        XCTAssertEqual(ObserveTime.parse("2026-08-01", now: .init()), Flow.Timestamp(seconds: 1_785_542_400))
        XCTAssertEqual(
            ObserveTime.parse("1970-01-01T00:00:00.1234567891Z", now: .init()),
            Flow.Timestamp(seconds: 0, nanos: 123_456_789))
        for bad in ["", "1", "1x", "m", "yesterday", "2026-13-01", "2026-08-01T25:00:00Z", "2026-08-01T10:00:00Zjunk"] {
            XCTAssertNil(ObserveTime.parse(bad, now: now), bad)
        }
    }

    func testGoDurations() {
        XCTAssertEqual(ObserveTime.goDuration("0"), 0)
        XCTAssertEqual(ObserveTime.goDuration("1h2m3s"), 3_723_000_000_000)
        XCTAssertEqual(ObserveTime.goDuration("1.5ms"), 1_500_000)
        XCTAssertEqual(ObserveTime.goDuration("2us"), 2000)
        XCTAssertEqual(ObserveTime.goDuration("2µs"), 2000)
        XCTAssertEqual(ObserveTime.goDuration("-3ns"), -3)
        XCTAssertEqual(ObserveTime.goDuration("+1m"), 60_000_000_000)
        for bad in ["", "-", "1", "1d", ".s", "1s2", "s", "3000000h"] {
            XCTAssertNil(ObserveTime.goDuration(bad), bad)
        }
    }

    func testRFC3339Forms() {
        XCTAssertEqual(Flow.Timestamp(rfc3339: "2026-08-01T10:00"), Flow.Timestamp(seconds: 1_785_578_400))
        XCTAssertEqual(
            Flow.Timestamp(rfc3339: "2026-08-01T10:00:00-01:30"), Flow.Timestamp(seconds: 1_785_578_400 + 5400))
    }

    func testDaysThatDoNotExistAreRefused() {
        for text in ["2026-02-29", "2026-02-30", "2026-04-31", "2026-06-31", "2026-09-31", "2026-11-31", "1900-02-29"] {
            XCTAssertNil(Flow.Timestamp(rfc3339: text), text)
        }
        for text in ["2028-02-29", "2000-02-29", "2026-01-31", "2026-12-31", "2026-04-30"] {
            XCTAssertNotNil(Flow.Timestamp(rfc3339: text), text)
        }
        // 2028-02-29 is the day after 2028-02-28.
        let feb28 = Flow.Timestamp(rfc3339: "2028-02-28T00:00:00Z")!
        let feb29 = Flow.Timestamp(rfc3339: "2028-02-29T00:00:00Z")!
        XCTAssertEqual(feb29.seconds - feb28.seconds, 86_400)
    }
}
