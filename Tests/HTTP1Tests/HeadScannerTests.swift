import XCTest

@testable import HTTP1

final class HeadScannerTests: XCTestCase {
    private func scan<T>(_ text: String, max: Int = 1000, _ body: (HeadScanner) throws -> T) rethrows -> T {
        try Array(ascii: text).withUnsafeBytes { try body(HeadScanner(bytes: $0, maxHeadBytes: max)) }
    }

    private func assertThrows<T>(_ expected: ParseError, line: UInt = #line, _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? ParseError, expected, line: line) }
    }

    func testWindowIsCappedByTheLimit() {
        scan("abcdef", max: 4) { XCTAssertEqual($0.end, 4) }
        scan("abcdef", max: 100) { XCTAssertEqual($0.end, 6) }
        scan("abcdef", max: -3) { XCTAssertEqual($0.end, 0) }
    }

    func testStrictCRLF() throws {
        XCTAssertEqual(try scan("x\r\n") { try $0.crlf(at: 1) }, 3)
        XCTAssertNil(try scan("x\r") { try $0.crlf(at: 1) })
        XCTAssertNil(try scan("x") { try $0.crlf(at: 1) })
        // The limit hides the LF: more bytes could not help, but the scanner waits for the caller's 431.
        XCTAssertNil(try scan("x\r\n", max: 2) { try $0.crlf(at: 1) })
        assertThrows(.badLineEnding) { try scan("x\n") { try $0.crlf(at: 1) } }
        assertThrows(.badLineEnding) { try scan("x\rx") { try $0.crlf(at: 1) } }
    }

    func testVersion() throws {
        let parsed = try scan("HTTP/1.1\r\n") { try $0.version(at: 0) }
        XCTAssertEqual(parsed?.major, 1)
        XCTAssertEqual(parsed?.minor, 1)
        XCTAssertEqual(parsed?.next, 8)
        XCTAssertEqual(try scan(" HTTP/2.0") { try $0.version(at: 1) }?.major, 2)
        for prefix in ["", "H", "HTTP/", "HTTP/1", "HTTP/1."] {
            XCTAssertNil(try scan(prefix) { try $0.version(at: 0) }, prefix)
        }
        for bad in ["http/1.1", "HTTP/x.1", "HTTP/1,1", "HTTP/1.x", "HTTP 1.1", "HTTP/11.1"] {
            assertThrows(.badVersion) { try scan(bad) { try $0.version(at: 0) } }
        }
    }

    private func fields(_ text: String, maxCount: Int = 100) throws -> (Int?, [String], HeaderFacts) {
        let bytes = Array(ascii: text)
        var headers: [HeaderField] = []
        var facts = HeaderFacts()
        let end = try bytes.withUnsafeBytes {
            try HeadScanner(bytes: $0, maxHeadBytes: 1000).fields(
                from: 0, maxHeaderCount: maxCount, headers: &headers, facts: &facts)
        }
        return (end, headers.map { "\(bytes.text($0.name)!)=\(bytes.text($0.value)!)" }, facts)
    }

    func testFieldsAreTrimmedAndFedToTheFacts() throws {
        let text = "Host:  a.example \r\nX-Empty:\r\nX-Tab:\tv 1\t\r\nContent-Length: 5\r\n\r\nBODY"
        let (end, list, facts) = try fields(text)
        XCTAssertEqual(end, text.utf8.count - 4)
        XCTAssertEqual(list, ["Host=a.example", "X-Empty=", "X-Tab=v 1", "Content-Length=5"])
        XCTAssertEqual(facts.contentLength, 5)
        XCTAssertNotNil(facts.host)
    }

    func testIncompleteFieldsNeedMore() throws {
        for text in ["", "Host", "Host: a", "Host: a\r", "Host: a\r\n", "Host: a\r\n\r"] {
            XCTAssertNil(try fields(text).0, text)
        }
    }

    func testMalformedFieldLines() {
        let cases: [(String, ParseError)] = [
            (" Host: a\r\n\r\n", .obsFold),
            ("Host: a\r\n\tb\r\n\r\n", .obsFold),
            ("Host : a\r\n\r\n", .spaceBeforeColon),
            (": a\r\n\r\n", .badFieldName),
            ("Ho(st: a\r\n\r\n", .badFieldName),
            ("Host\r\n\r\n", .badFieldName),
            ("Host\n\r\n", .badLineEnding),
            ("Host: a\n\r\n", .badLineEnding),
            ("Host: a\u{0}b\r\n\r\n", .badFieldValue),
            ("Host: a\u{7F}\r\n\r\n", .badFieldValue),
            ("Host: a\r\nHost: b\r\n\r\n", .duplicateHost),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try fields(text), text.debugDescription) {
                XCTAssertEqual($0 as? ParseError, expected, text.debugDescription)
            }
        }
    }

    func testFieldCountLimit() throws {
        XCTAssertEqual(try fields("A: 1\r\nB: 2\r\n\r\n", maxCount: 2).1.count, 2)
        XCTAssertThrowsError(try fields("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", maxCount: 2)) {
            XCTAssertEqual($0 as? ParseError, .tooManyHeaders)
        }
    }
}
