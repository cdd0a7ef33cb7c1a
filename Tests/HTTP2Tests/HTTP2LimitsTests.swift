import HTTP2
import XCTest

final class HTTP2LimitsTests: XCTestCase {
    func testLimitOptionsKeepDefaultsAndRejectOutOfRangeValues() {
        XCTAssertEqual(try HTTP2Limits.withOptions(), HTTP2Limits.default)
        XCTAssertEqual(try HTTP2Limits.withOptions(maxRequestHeadersKB: 8192).maxHeaderListSize, 8192 * 1024)
        let bad: [(() throws -> HTTP2Limits, String)] = [
            ({ try HTTP2Limits.withOptions(maxConcurrentStreams: 0) }, "--http2-max-concurrent-streams"),
            ({ try HTTP2Limits.withOptions(maxRequestHeadersKB: 0) }, "--http2-max-request-headers-kb"),
            ({ try HTTP2Limits.withOptions(maxRequestHeadersKB: 8193) }, "--http2-max-request-headers-kb"),
            ({ try HTTP2Limits.withOptions(initialStreamWindowSize: 65_534) }, "--http2-initial-stream-window-size"),
            ({ try HTTP2Limits.withOptions(initialStreamWindowSize: 1 << 31) }, "--http2-initial-stream-window-size"),
            ({ try HTTP2Limits.withOptions(initialConnectionWindowSize: 1) }, "--http2-initial-connection-window-size"),
        ]
        for (make, option) in bad {
            XCTAssertThrowsError(try make()) { error in
                XCTAssertTrue("\(error)".hasPrefix(option), "\(error)")
            }
        }
    }

    func testDefaultsFollowEnvoy() {
        let limits = HTTP2Limits.default
        XCTAssertEqual(limits.maxConcurrentStreams, 100)
        XCTAssertEqual(limits.maxHeaderListSize, 60 * 1024)
        XCTAssertEqual(limits.initialStreamWindow, 256 * 1024)
        XCTAssertEqual(limits.connectionWindow, 1024 * 1024)
        XCTAssertEqual(limits.maxContinuations, 8)
        XCTAssertEqual(limits.prematureResetMinStreams, 500)
        XCTAssertEqual(limits.maxConsecutiveEmptyFrames, 1)
        XCTAssertEqual(limits.maxOutboundAcks, 1000)
    }

    func testEachOptionSetsOnlyItsLimit() throws {
        let limits = try HTTP2Limits.withOptions(
            maxConcurrentStreams: 1, maxRequestHeadersKB: 1, initialStreamWindowSize: 65_535,
            initialConnectionWindowSize: Int(Int32.max))
        XCTAssertEqual(limits.maxConcurrentStreams, 1)
        XCTAssertEqual(limits.maxHeaderListSize, 1024)
        XCTAssertEqual(limits.initialStreamWindow, 65_535)
        XCTAssertEqual(limits.connectionWindow, Int32.max)
        var expected = HTTP2Limits.default
        expected.maxConcurrentStreams = 1
        expected.maxHeaderListSize = 1024
        expected.initialStreamWindow = 65_535
        expected.connectionWindow = Int32.max
        XCTAssertEqual(limits, expected)
        XCTAssertEqual(try HTTP2Limits.withOptions(initialStreamWindowSize: 70_000).connectionWindow, 1024 * 1024)
    }
}
