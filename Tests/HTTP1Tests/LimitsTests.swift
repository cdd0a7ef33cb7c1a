import XCTest

@testable import HTTP1

final class LimitsTests: XCTestCase {
    func testDefaultsAreEnvoys() {
        XCTAssertEqual(Limits.default.maxHeadBytes, 60 * 1024)
        XCTAssertEqual(Limits.default.maxHeaderCount, 100)
        XCTAssertEqual(Limits.default.maxTargetBytes, 8 * 1024)
        XCTAssertEqual(Limits.default.maxChunkLineBytes, 4096)
        XCTAssertEqual(Limits.default.maxTrailerBytes, 16 * 1024)
    }

    func testEachArgumentSetsItsOwnLimit() {
        let limits = Limits(
            maxHeadBytes: 1, maxHeaderCount: 2, maxTargetBytes: 3, maxChunkLineBytes: 4, maxTrailerBytes: 5)
        XCTAssertEqual(
            [
                limits.maxHeadBytes, limits.maxHeaderCount, limits.maxTargetBytes, limits.maxChunkLineBytes,
                limits.maxTrailerBytes,
            ],
            [1, 2, 3, 4, 5])
        XCTAssertNotEqual(limits, .default)
    }

    func testHeadLimitIsEnforcedByTheParser() {
        let bytes = Array(ascii: "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(parseRequest(bytes, limits: Limits(maxHeadBytes: bytes.count)).0, .complete)
        XCTAssertEqual(parseRequest(bytes, limits: Limits(maxHeadBytes: bytes.count - 1)).0, .error(.headTooLarge))
    }
}
