import SluiceTestSupport
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

    func testVersionWordsAreTheVersionsBytes() {
        Array(ascii: "HTTP/1.1HTTP/1.0").withUnsafeBytes { bytes in
            XCTAssertEqual(ByteWords.load(bytes, 0), HeadScanner.http11)
            XCTAssertEqual(ByteWords.load(bytes, 8), HeadScanner.http10)
        }
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

    // MARK: The word-at-a-time scan decides as the byte loops did

    /// Heads whose names and values are long enough for the word scan (8 bytes and more), with the
    /// framing and connection fields the facts read.
    private static let seeds: [[UInt8]] = [
        "GET /anything/items?id=42&sort=asc HTTP/1.1\r\nHost: backend.default.svc:8080\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
            + "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive, Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: websocket, h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nExpect: 100-continue\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: gzip,  chunked \t\r\n"
            + "Content-Length: 12, 12\r\nX-Long-Header-Name-Here: value with  spaces\t and tabs\t \r\n\r\n",
        "GET / HTTP/1.0\r\nCONNECTION: Keep-Alive\r\ncontent-length: 0000000000000000012\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 22:40:00 GMT\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: 166\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols with a long reason phrase\r\nUpgrade: websocket\r\n"
            + "Connection: upgrade\r\nSet-Cookie: session=0123456789abcdef; Path=/; HttpOnly\r\n\r\n",
        "HTTP/1.0 200 Fine\r\nTransfer-Encoding: chunked, gzip\r\nConnection: close\r\n\r\n",
        // Forty fields, for requests and responses (with `many`, the field limit falls among them).
        "GET /many HTTP/1.1\r\nHost: many\r\n" + (0..<40).map { "X-Field-\($0): value \($0)\r\n" }.joined() + "\r\n",
        "HTTP/1.1 200 OK\r\n" + (0..<40).map { "X-Field-\($0): value \($0)\r\n" }.joined()
            + "Content-Length: 0\r\n\r\n",
    ].map { Array(ascii: $0) }
    /// Every byte class the scanner tells apart: controls (HTAB, CR, LF, NUL), SP, DEL, obs-text,
    /// separators, token symbols, letters of both cases, digits.
    private static let interesting: [UInt8] =
        Array(ascii: "\r\n \t:,;\"()/@[]{}=?!#$%&'*+-.^_`|~0aAzZ9") + [0, 0x01, 0x0B, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]

    /// 30,000 mutated heads (and a cut of each) through the parser and `ByteLoopParser` (the parser
    /// before the word scan): the same result, error and head, for requests and responses, with
    /// the default limits, small ones, and a field limit among the forty fields of two seeds.
    func testTheParserDecidesAsTheByteLoopParser() {
        var random = SeededRandom(seed: 0x00DE_C1DE_5CA7)
        let small = Limits(maxHeadBytes: 120, maxHeaderCount: 4, maxTargetBytes: 16)
        let many = Limits(maxHeaderCount: 19)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<30_000 {
            var bytes = Self.seeds.randomElement(using: &random) ?? []
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                let byte =
                    Int.random(in: 0..<4, using: &random) == 0
                    ? UInt8.random(in: 0...255, using: &random) : Self.interesting.randomElement(using: &random) ?? 0
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: bytes.remove(at: at)
                }
            }
            let cut = Int.random(in: 0...bytes.count, using: &random)
            for buffer in [bytes, Array(bytes[..<cut])] {
                let limits = iteration % 3 == 2 ? small : iteration % 3 == 1 ? many : .default
                buffer.withUnsafeBytes { raw in
                    var head = RequestHead(), reference = RequestHead()
                    let result = HTTP1Parser.parseRequestHead(raw, into: &head, limits: limits)
                    let expected = ByteLoopParser.parseRequestHead(raw, into: &reference, limits: limits)
                    XCTAssertEqual(result, expected, "request \(buffer)")
                    if result == .complete { XCTAssertEqual(head, reference, "request \(buffer)") }
                    outcomes["request \(result)", default: 0] += 1

                    let isHEAD = iteration % 2 == 0
                    var response = ResponseHead(), referenceResponse = ResponseHead()
                    let r = HTTP1Parser.parseResponseHead(
                        raw, requestMethodIsHEAD: isHEAD, into: &response, limits: limits)
                    let e = ByteLoopParser.parseResponseHead(
                        raw, requestMethodIsHEAD: isHEAD, into: &referenceResponse, limits: limits)
                    XCTAssertEqual(r, e, "response \(buffer)")
                    if r == .complete { XCTAssertEqual(response, referenceResponse, "response \(buffer)") }
                    outcomes["response \(r)", default: 0] += 1
                }
            }
        }
        // Both kinds must complete, wait and fail often, or the comparison exercised little.
        for kind in ["request", "response"] {
            XCTAssertGreaterThan(outcomes["\(kind) complete", default: 0], 3_000, "\(outcomes)")
            XCTAssertGreaterThan(outcomes["\(kind) needMore", default: 0], 3_000, "\(outcomes)")
            let errors = outcomes.filter { $0.key.hasPrefix("\(kind) error") }.values.reduce(0, +)
            XCTAssertGreaterThan(errors, 3_000, "\(outcomes)")
        }
    }
}
