import XCTest

@testable import Flows

final class CivilTimeTests: XCTestCase {
    /// The fields of the instant as `year-month-day hour:minute:second.nanos`, unpadded.
    private func civil(_ seconds: Int64, nanos: Int32 = 0, offset: Int = 0) -> String {
        let c = CivilTime(Flow.Timestamp(seconds: seconds, nanos: nanos), utcOffsetSeconds: offset)
        return "\(c.year)-\(c.month)-\(c.day) \(c.hour):\(c.minute):\(c.second).\(c.nanos)"
    }

    func testKnownInstants() {
        // 2026-08-01T10:00:00Z
        XCTAssertEqual(
            civil(1_785_578_400), "2026-8-1 10:0:0.0")
        XCTAssertEqual(civil(0), "1970-1-1 0:0:0.0")
        // 2024-02-29T23:59:59Z, a leap day.
        XCTAssertEqual(
            civil(1_709_251_199, nanos: 5), "2024-2-29 23:59:59.5")
        // 2000-03-01T00:00:00Z, after the 400-year leap day.
        XCTAssertEqual(civil(951_868_800), "2000-3-1 0:0:0.0")
    }

    func testBeforeTheEpochAndOffsets() {
        // 1969-12-31T23:59:59Z
        XCTAssertEqual(civil(-1), "1969-12-31 23:59:59.0")
        // 1970-01-01T00:30Z at -01:00 is 1969-12-31T23:30.
        XCTAssertEqual(
            civil(1800, offset: -3600), "1969-12-31 23:30:0.0")
        XCTAssertEqual(civil(0, offset: 5 * 3600 + 1800), "1970-1-1 5:30:0.0")
    }

    func testRFC3339FractionHasZeroThreeSixOrNineDigits() {
        let base: Int64 = 1_785_578_400
        XCTAssertEqual(CivilTime.rfc3339(Flow.Timestamp(seconds: base)), "2026-08-01T10:00:00Z")
        XCTAssertEqual(CivilTime.rfc3339(Flow.Timestamp(seconds: base, nanos: 120_000_000)), "2026-08-01T10:00:00.120Z")
        XCTAssertEqual(
            CivilTime.rfc3339(Flow.Timestamp(seconds: base, nanos: 123_400_000)), "2026-08-01T10:00:00.123400Z")
        XCTAssertEqual(CivilTime.rfc3339(Flow.Timestamp(seconds: base, nanos: 1)), "2026-08-01T10:00:00.000000001Z")
    }

    func testStampMilli() {
        let t = Flow.Timestamp(seconds: 1_785_578_400, nanos: 987_654_321)
        XCTAssertEqual(CivilTime.stampMilli(t, utcOffsetSeconds: 0), "Aug  1 10:00:00.987")
        XCTAssertEqual(CivilTime.stampMilli(t, utcOffsetSeconds: 2 * 3600), "Aug  1 12:00:00.987")
        XCTAssertEqual(
            CivilTime.stampMilli(Flow.Timestamp(seconds: 1_702_000_000), utcOffsetSeconds: 0), "Dec  8 01:46:40.000")
        XCTAssertEqual(
            CivilTime.stampMilli(Flow.Timestamp(seconds: 1_704_067_199), utcOffsetSeconds: 0), "Dec 31 23:59:59.000")
    }
}
