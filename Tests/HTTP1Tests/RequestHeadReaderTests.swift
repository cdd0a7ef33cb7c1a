import XCTest

@testable import HTTP1

/// `RequestHeadReader`: the same answers as `HTTP1Parser.parseRequestHead`, in O(n) work however
/// the head is split into reads.
final class RequestHeadReaderTests: XCTestCase {
    /// Feeds `bytes` growing by `step` bytes per call; returns the first non-needMore result, the
    /// number of bytes it took, the head and the work done.
    func feed(_ bytes: [UInt8], step: Int = 1, limits: Limits = .default)
        -> (result: HeadResult, at: Int, head: RequestHead, work: Int)
    {
        var reader = RequestHeadReader()
        var head = RequestHead()
        var n = 0
        while n < bytes.count {
            n = min(n + step, bytes.count)
            let result = bytes.withUnsafeBytes {
                reader.parse(
                    UnsafeRawBufferPointer(rebasing: $0[..<n]),
                    into: &head, limits: limits)
            }
            if result != .needMore { return (result, n, head, reader.work) }
        }
        return (.needMore, n, head, reader.work)
    }

    static let request = Array(ascii: "GET /a HTTP/1.1\r\nhost: backend\r\nx-a: 1\r\ncontent-length: 3\r\n\r\nabc")

    func testCompletesAtTheEndOfTheHeadForEverySplitAndStepSize() {
        let (expected, full) = parseRequest(Self.request)
        XCTAssertEqual(expected, .complete)
        for step in 1...Self.request.count {
            let got = feed(Self.request, step: step)
            XCTAssertEqual(got.result, .complete, "step \(step)")
            XCTAssertEqual(got.head, full, "step \(step)")
            XCTAssertLessThan(got.at - step, full.headLength, "step \(step)")
        }
    }

    func testErrorsAreFoundByTheEndOfTheLineThatHoldsThem() {
        let cases: [(String, ParseError)] = [
            ("GET /a HTTP/1.1\nhost: b\r\n\r\n", .badLineEnding),
            ("GET /a HTTP/2.0\r\nhost: b\r\n\r\n", .unsupportedVersion),
            ("GET /a HTTP/1.1\r\nhost: b\nx: y\r\n\r\n", .badLineEnding),
            ("GET /a HTTP/1.1\r\nhost: b\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n", .conflictingContentLength),
            ("\nGET / HTTP/1.1\r\n", .badLineEnding),
        ]
        for (text, error) in cases {
            let bytes = Array(ascii: text)
            let got = feed(bytes)
            XCTAssertEqual(got.result, .error(error), text)
            // Found no later than the bytes of the line that holds the error.
            let lineEnd = Array(bytes).indices.filter { bytes[$0] == 0x0A }
            XCTAssertTrue(lineEnd.contains { $0 + 1 >= got.at } || got.at == bytes.count, text)
        }
    }

    func testAnEndlessTargetIs414AndAnEndlessHeadIs431() {
        var line = Array(ascii: "GET /")
        line += [UInt8](repeating: 0x61, count: 9 * 1024)
        XCTAssertEqual(feed(line, step: 7).result, .error(.targetTooLong))
        var head = Array(ascii: "GET / HTTP/1.1\r\nhost: b\r\nx-long: ")
        head += [UInt8](repeating: 0x61, count: 70 * 1024)
        let got = feed(head, step: 13)
        XCTAssertEqual(got.result, .error(.headTooLarge))
        XCTAssertLessThanOrEqual(got.at, Limits.default.maxHeadBytes + 13 + 1)
    }

    /// A 60 KiB head of 99 fields arriving one byte per call costs a small constant times its
    /// size (the parser alone, called each time, would look at ~1.8 G bytes).
    func testOneByteReadsOfASixtyKiBHeadCostLinearWork() {
        var text = "GET /a HTTP/1.1\r\nhost: backend\r\n"
        let filler = String(repeating: "v", count: 600)
        for i in 0..<98 { text += "x-field-\(i): \(filler)\r\n" }
        text += "\r\n"
        let bytes = Array(ascii: text)
        XCTAssertGreaterThan(bytes.count, 58 * 1024)
        XCTAssertLessThanOrEqual(bytes.count, Limits.default.maxHeadBytes)
        let got = feed(bytes, step: 1)
        XCTAssertEqual(got.result, .complete)
        XCTAssertEqual(got.head.headers.count, 99)
        XCTAssertLessThanOrEqual(got.work, 5 * bytes.count, "work \(got.work) for \(bytes.count) bytes")
        let began = ContinuousClock.now
        _ = feed(bytes, step: 1)
        XCTAssertLessThan(ContinuousClock.now - began, .seconds(2))
    }

    func testLeadingEmptyLinesAndPipelinedBytesAreHandledAsByTheParser() {
        let bytes = Array(ascii: "\r\n\r\nGET / HTTP/1.1\r\nhost: b\r\n\r\nGET /next HTTP/1.1\r\n")
        let got = feed(bytes)
        XCTAssertEqual(got.result, .complete)
        XCTAssertEqual(got.head.headLength, 31)
    }

    /// A whole head in one read costs one parse and no extra scan.
    func testAWholeHeadInOneCallIsParsedOnce() {
        var reader = RequestHeadReader()
        var head = RequestHead()
        let result = Self.request.withUnsafeBytes { reader.parse($0, into: &head) }
        XCTAssertEqual(result, .complete)
        XCTAssertEqual(reader.work, Self.request.count)
    }
}
