import XCTest

@testable import Flows

final class TimeFormatTests: XCTestCase {
    /// 2026-08-01T10:00:00.120450000Z, a Saturday.
    private let t = Flow.Timestamp(seconds: 1_785_578_400, nanos: 120_450_000)

    func testEveryLayoutInUTC() {
        let expected: [TimeFormat: String] = [
            .stampMilli: "Aug  1 10:00:00.120",
            .rfc3339: "2026-08-01T10:00:00Z",
            .rfc3339Milli: "2026-08-01T10:00:00.120Z",
            .rfc3339Micro: "2026-08-01T10:00:00.120450Z",
            .rfc3339Nano: "2026-08-01T10:00:00.12045Z",
            .rfc1123Z: "Sat, 01 Aug 2026 10:00:00 +0000",
        ]
        XCTAssertEqual(Set(expected.keys), Set(TimeFormat.allCases))
        for (format, text) in expected {
            XCTAssertEqual(format.format(t, utcOffsetSeconds: 0), text, format.rawValue)
        }
    }

    func testOffsetsAndDayChanges() {
        XCTAssertEqual(TimeFormat.rfc3339.format(t, utcOffsetSeconds: -(10 * 3600 + 1800)), "2026-07-31T23:30:00-10:30")
        XCTAssertEqual(
            TimeFormat.rfc1123Z.format(t, utcOffsetSeconds: -(10 * 3600 + 1800)), "Fri, 31 Jul 2026 23:30:00 -1030")
        XCTAssertEqual(
            TimeFormat.rfc3339Milli.format(t, utcOffsetSeconds: 5 * 3600 + 2700), "2026-08-01T15:45:00.120+05:45")
        XCTAssertEqual(
            TimeFormat.rfc3339Nano.format(Flow.Timestamp(seconds: 0), utcOffsetSeconds: 0), "1970-01-01T00:00:00Z")
        // 1969-12-31 was a Wednesday.
        XCTAssertEqual(
            TimeFormat.rfc1123Z.format(Flow.Timestamp(seconds: -1), utcOffsetSeconds: 0),
            "Wed, 31 Dec 1969 23:59:59 +0000")
    }

    func testNamesAreHubbles() {
        XCTAssertEqual(TimeFormat(rawValue: "StampMilli"), .stampMilli)
        XCTAssertEqual(TimeFormat(rawValue: "RFC3339Nano"), .rfc3339Nano)
        XCTAssertNil(TimeFormat(rawValue: "rfc3339"))
    }
}
