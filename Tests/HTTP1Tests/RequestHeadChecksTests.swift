import XCTest

@testable import HTTP1

/// Content-Length repeats, overflow and underscore names as the parser reports them, for every
/// split of each fixture.
final class RequestHeadChecksTests: XCTestCase {
    func testIdenticalContentLengthsAreOneValueAndMarkedRepeated() {
        for text in [
            "POST / HTTP/1.1\r\nhost: b\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nhost: b\r\ncontent-length: 3, 3\r\n\r\n",
        ] {
            let head = assertRequestEverySplit(Array(ascii: text))
            XCTAssertEqual(head.framing, .contentLength(3))
            XCTAssertTrue(head.contentLengthRepeated)
        }
        let single = assertRequestEverySplit(Array(ascii: "POST / HTTP/1.1\r\nhost: b\r\ncontent-length: 3\r\n\r\n"))
        XCTAssertFalse(single.contentLengthRepeated)
    }

    func testDifferentOrOverflowingContentLengthsAre400() {
        let cases: [(String, ParseError)] = [
            ("content-length: 3\r\ncontent-length: 4", .conflictingContentLength),
            ("content-length: 3, 4", .conflictingContentLength),
            ("content-length: 3,", .badContentLength),
            ("content-length: 99999999999999999999", .badContentLength),
            ("content-length: 9223372036854775808", .badContentLength),
            ("content-length: -1", .badContentLength),
        ]
        for (field, error) in cases {
            let bytes = Array(ascii: "POST / HTTP/1.1\r\nhost: b\r\n\(field)\r\n\r\n")
            XCTAssertEqual(parseRequest(bytes).0, .error(error), field)
            XCTAssertEqual(error.status, 400)
        }
    }

    func testFirstUnderscoreField() {
        let bytes = Array(ascii: "GET / HTTP/1.1\r\nhost: b\r\nx-role: a\r\nx_role: admin\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(
            bytes.withUnsafeBytes { head.firstUnderscoreField(in: $0) }.map { bytes.text($0.name) }, "x_role")
        let clean = Array(ascii: "GET / HTTP/1.1\r\nhost: b\r\nx-role: a\r\n\r\n")
        let cleanHead = assertRequestEverySplit(clean)
        XCTAssertNil(clean.withUnsafeBytes { cleanHead.firstUnderscoreField(in: $0) })
    }

    func testDefaultLimitsAreEnvoys() {
        XCTAssertEqual(Limits.default.maxHeadBytes, 60 * 1024)
        XCTAssertEqual(Limits.default.maxHeaderCount, 100)
        XCTAssertEqual(Limits.default.maxTargetBytes, 8 * 1024)
        var fields = "GET / HTTP/1.1\r\nhost: b\r\n"
        for i in 0..<100 { fields += "x-\(i): v\r\n" }
        XCTAssertEqual(parseRequest(Array(ascii: fields + "\r\n")).0, .error(.tooManyHeaders))
        let line = "GET /" + String(repeating: "a", count: 9 * 1024) + " HTTP/1.1\r\nhost: b\r\n\r\n"
        XCTAssertEqual(parseRequest(Array(ascii: line)).0, .error(.targetTooLong))
    }
}
