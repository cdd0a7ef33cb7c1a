import SluiceModel
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

    /// The word-at-a-time scan (`ByteLanes`) takes exactly what the byte rules take: random field
    /// sections from bytes that matter to the rules (name bytes, other tchars, separators, SP, HTAB,
    /// CR, LF, NUL, DEL, obs-text), at every offset and window, give the same end, error and
    /// fields as `ReferenceFieldScanner`, the byte-by-byte loop the scanner had before.
    func testWordScanAgreesWithTheByteRules() {
        let alphabet: [UInt8] =
            Array(ascii: "aZz09-Host:content-length: text/plain; q=1!~\"(),") + [
                0x20, 0x20, 0x09, 0x0D, 0x0A, 0x00, 0x7F, 0x80, 0xFF, 0x1F,
            ]
        let lines = [
            "Host: a.example\r\n", "Content-Length: 12\r\n", "X-Long-Name-Of-A-Field: a value with spaces \t \r\n",
            "Date: Sat, 05 Dec 2026 13:24:00 GMT\r\n", "\r\n", "Connection: keep-alive, close\r\n",
        ].map { Array(ascii: $0) }
        var generator = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        for _ in 0..<40_000 {
            var bytes: [UInt8] = []
            while bytes.count < 90 {
                if Bool.random(using: &generator) {
                    bytes += lines.randomElement(using: &generator)!
                } else {
                    for _ in 0..<Int.random(in: 1...12, using: &generator) {
                        bytes.append(alphabet.randomElement(using: &generator)!)
                    }
                }
            }
            // Mostly well-formed lines with a few bytes changed, so both the fast runs and every error are reached.
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = alphabet.randomElement(using: &generator)!
            }
            let start = Int.random(in: 0...8, using: &generator)
            let window = Int.random(in: 0...bytes.count + 4, using: &generator)
            let count = Int.random(in: 1...6, using: &generator)
            let got = Self.outcome(bytes, start, window) { scanner, headers, facts in
                try scanner.fields(from: start, maxHeaderCount: count, headers: &headers, facts: &facts)
            }
            let want = Self.outcome(bytes, start, window) { scanner, headers, facts in
                try ReferenceFieldScanner(scanner).fields(
                    from: start, maxHeaderCount: count, headers: &headers, facts: &facts)
            }
            XCTAssertEqual(got, want, "\(bytes) from \(start) window \(window)")
            if got != want { return }
            outcomes[String(got.prefix(while: { $0 != " " })), default: 0] += 1
        }
        // Each kind of answer was reached often, or the agreement says little.
        for kind in [
            "end", "more", "badFieldName", "badFieldValue", "badLineEnding", "spaceBeforeColon", "tooManyHeaders",
        ] {
            XCTAssertGreaterThan(outcomes[kind, default: 0], 100, "\(kind) in \(outcomes)")
        }
    }

    private static func outcome(
        _ bytes: [UInt8], _ start: Int, _ window: Int,
        _ scan: (HeadScanner, inout [HeaderField], inout HeaderFacts) throws -> Int?
    ) -> String {
        bytes.withUnsafeBytes { raw in
            var headers: [HeaderField] = []
            var facts = HeaderFacts()
            let fields = { headers.map { "\($0.name) \($0.value)" }.joined(separator: ",") }
            do {
                let end = try scan(HeadScanner(bytes: raw, maxHeadBytes: window), &headers, &facts)
                return (end.map { "end \($0)" } ?? "more") + " " + fields()
            } catch let error as ParseError {
                return Self.kind(error) + " " + fields()
            } catch {
                return "\(error)"
            }
        }
    }
}

extension HeadScannerTests {
    private static let kinds: [(ParseError, String)] = [
        (.badFieldName, "badFieldName"), (.badFieldValue, "badFieldValue"), (.badLineEnding, "badLineEnding"),
        (.spaceBeforeColon, "spaceBeforeColon"), (.tooManyHeaders, "tooManyHeaders"), (.obsFold, "obsFold"),
    ]

    /// The error's name for the field-syntax errors, else its reason (errors from the facts).
    fileprivate static func kind(_ error: ParseError) -> String {
        kinds.first { $0.0 == error }?.1 ?? error.reason.split(separator: " ").joined(separator: "-")
    }
}

/// The field scan byte by byte, as `HeadScanner.fields` was before it took words: the reference
/// its word-at-a-time runs are held to.
private struct ReferenceFieldScanner {
    let scanner: HeadScanner
    init(_ scanner: HeadScanner) { self.scanner = scanner }

    func fields(
        from start: Int, maxHeaderCount: Int, headers: inout [HeaderField], facts: inout HeaderFacts
    ) throws(ParseError) -> Int? {
        let bytes = scanner.bytes
        let end = scanner.end
        var i = start
        while true {
            guard i < end else { return nil }
            let first = bytes[i]
            if first == ASCII.cr { return try scanner.crlf(at: i) }
            if ASCII.isWhitespace(first) { throw .obsFold }
            let nameStart = i
            while i < end, ASCII.isToken(bytes[i]) { i &+= 1 }
            guard i < end else { return nil }
            guard bytes[i] == ASCII.colon else {
                if ASCII.isWhitespace(bytes[i]) && i > nameStart { throw .spaceBeforeColon }
                if bytes[i] == ASCII.lf { throw .badLineEnding }
                throw .badFieldName
            }
            guard i > nameStart else { throw .badFieldName }
            let name = nameStart..<i
            i &+= 1
            while i < end, ASCII.isWhitespace(bytes[i]) { i &+= 1 }
            let valueStart = i
            var valueEnd = i
            while i < end {
                let c = bytes[i]
                if c > ASCII.sp && c != 0x7F {
                    i &+= 1
                    valueEnd = i
                } else if ASCII.isWhitespace(c) {
                    i &+= 1
                } else {
                    break
                }
            }
            guard i < end else { return nil }
            guard bytes[i] == ASCII.cr else { throw bytes[i] == ASCII.lf ? .badLineEnding : .badFieldValue }
            guard let next = try scanner.crlf(at: i) else { return nil }
            i = next
            guard headers.count < maxHeaderCount else { throw .tooManyHeaders }
            let value = valueStart..<valueEnd
            headers.append(HeaderField(name: name, value: value))
            try facts.observe(name: name, value: value, in: bytes)
        }
    }
}
