import XCTest

@testable import HTTP1

/// Chunked bodies fed whole, split at every offset into two runs, and byte by byte; a failed
/// scan is asked again and must give the same error.
final class ChunkedScannerTests: XCTestCase {
    /// Feeds `runs` in order; returns the offset in the concatenated bytes where the body ended, or
    /// the first error, or nil when more bytes are needed after the last run.
    private func scan(_ runs: [[UInt8]], limits: Limits = .default) -> Result<Int, ParseError>? {
        var scanner = ChunkedScanner(limits: limits)
        var consumed = 0
        for run in runs {
            switch run.withUnsafeBytes({ scanner.scan($0) }) {
            case .needMore:
                consumed += run.count
            case .done(let count):
                XCTAssertLessThanOrEqual(count, run.count)
                XCTAssertTrue(scanner.isDone)
                return .success(consumed + count)
            case .error(let error):
                // A failed scanner repeats its error, whichever it was (kept as a small index).
                XCTAssertEqual(scanner.scan(UnsafeRawBufferPointer(start: nil, count: 0)), .error(error))
                return .failure(error)
            }
        }
        return nil
    }

    /// Asserts the body in `text` ends after `length` bytes (or fails with `error`) whole, at every
    /// two-way split and byte by byte.
    private func assertBody(
        _ text: String, endsAt length: Int? = nil, fails error: ParseError? = nil, limits: Limits = .default,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let bytes = Array(ascii: text)
        let expected: Result<Int, ParseError>? = error.map { .failure($0) } ?? length.map { .success($0) }
        XCTAssertEqual(scan([bytes], limits: limits), expected, "whole", file: file, line: line)
        for cut in 0...bytes.count {
            let runs = [Array(bytes[0..<cut]), Array(bytes[cut...])]
            XCTAssertEqual(scan(runs, limits: limits), expected, "split at \(cut)", file: file, line: line)
        }
        XCTAssertEqual(scan(bytes.map { [$0] }, limits: limits), expected, "byte by byte", file: file, line: line)
    }

    func testSimpleBodyAndFollowingBytes() {
        let body = "5\r\nhello\r\n0\r\n\r\n"
        assertBody(body, endsAt: body.utf8.count)
        assertBody(body + "GET / HTTP/1.1\r\n", endsAt: body.utf8.count)
    }

    func testSeveralChunksHexSizesAndLeadingZeros() {
        let body =
            "a\r\n0123456789\r\n00B\r\nhello world\r\n1F\r\n" + String(repeating: "x", count: 31)
            + "\r\n000\r\n\r\n"
        assertBody(body, endsAt: body.utf8.count)
    }

    func testExtensionsAndTrailers() {
        let body =
            "4;name=value;flag\r\nwiki\r\n5 ; x=\"q \\\" s\"\r\npedia\r\n0;last\r\n"
            + "Expires: never\r\nX-Checksum:\tabc \r\n\r\n"
        assertBody(body, endsAt: body.utf8.count)
        assertBody("0\r\nX:\r\n\r\nrest", endsAt: 9)
    }

    func testEmptyBodyOnlyLastChunk() {
        assertBody("0\r\n\r\n", endsAt: 5)
    }

    func testBadSizeLines() {
        assertBody("\r\n", fails: .badChunkSize)
        assertBody("g\r\n", fails: .badChunkSize)
        assertBody("-1\r\n", fails: .badChunkSize)
        assertBody("0x5\r\nhello\r\n", fails: .badChunkSize)
        assertBody("5 \r\nhello\r\n0\r\n\r\n", fails: .badChunkSize)
        assertBody("5\nhello\r\n", fails: .badChunkSize)
        assertBody("5\r\rhello\r\n", fails: .badLineEnding)
        assertBody(" 5\r\nhello\r\n", fails: .badChunkSize)
        assertBody("5;a\u{01}b\r\nhello\r\n", fails: .badChunkExtension)
        assertBody("5;a\nhello\r\n", fails: .badChunkExtension)
    }

    func testSizeOverflow() {
        assertBody("8000000000000000\r\n", fails: .chunkSizeOverflow)
        assertBody("00000000000000000000007fffffffffffffff\r\n")
        assertBody("fffffffffffffffffffff\r\n", fails: .chunkSizeOverflow)
    }

    func testLineLimit() {
        let limits = Limits(maxChunkLineBytes: 8)
        assertBody("5;abcdef\r\nhello\r\n0\r\n\r\n", endsAt: 22, limits: limits)
        assertBody("5;abcdefg\r\nhello\r\n0\r\n\r\n", fails: .chunkLineTooLong, limits: limits)
        assertBody("000000005\r\nhello\r\n", fails: .chunkLineTooLong, limits: limits)
    }

    func testDataMustEndWithCRLF() {
        assertBody("5\r\nhelloX\r\n0\r\n\r\n", fails: .badChunkData)
        assertBody("5\r\nhello\rX0\r\n\r\n", fails: .badChunkData)
        assertBody("5\r\nhello\n0\r\n\r\n", fails: .badChunkData)
        assertBody("5\r\nhello world\r\n", fails: .badChunkData)
    }

    func testBadTrailers() {
        assertBody("0\r\n folded\r\n\r\n", fails: .obsFold)
        assertBody("0\r\nX : y\r\n\r\n", fails: .spaceBeforeColon)
        assertBody("0\r\n: y\r\n\r\n", fails: .badTrailer)
        assertBody("0\r\nX: a\0b\r\n\r\n", fails: .badTrailer)
        assertBody("0\r\nX: a\nb\r\n\r\n", fails: .badLineEnding)
        assertBody("0\r\nX: a\r\r\n\r\n", fails: .badLineEnding)
        assertBody("0\r\n\rX", fails: .badLineEnding)
        assertBody("0\r\n\n", fails: .badTrailer)
    }

    func testTrailerLimit() {
        let trailers = "X: 12345\r\n\r\n"
        let exact = Limits(maxTrailerBytes: trailers.utf8.count)
        assertBody("0\r\n" + trailers, endsAt: 3 + trailers.utf8.count, limits: exact)
        let small = Limits(maxTrailerBytes: trailers.utf8.count - 1)
        assertBody("0\r\n" + trailers, fails: .trailersTooLarge, limits: small)
    }

    func testStateAfterDoneAndAfterError() {
        var scanner = ChunkedScanner()
        let body = Array(ascii: "0\r\n\r\nNEXT")
        XCTAssertEqual(body.withUnsafeBytes { scanner.scan($0) }, .done(5))
        XCTAssertEqual(body.withUnsafeBytes { scanner.scan($0) }, .done(0))
        scanner.reset()
        XCTAssertFalse(scanner.isDone)
        XCTAssertEqual(Array(ascii: "zz").withUnsafeBytes { scanner.scan($0) }, .error(.badChunkSize))
        XCTAssertEqual(Array(ascii: "0\r\n\r\n").withUnsafeBytes { scanner.scan($0) }, .error(.badChunkSize))
        XCTAssertEqual(scanner.scan(UnsafeRawBufferPointer(start: nil, count: 0)), .error(.badChunkSize))
    }

    func testLargeChunkSkippedAcrossRuns() {
        var scanner = ChunkedScanner()
        let header = Array(ascii: "100000\r\n")
        XCTAssertEqual(header.withUnsafeBytes { scanner.scan($0) }, .needMore)
        let block = [UInt8](repeating: 0x0D, count: 4096)
        for _ in 0..<(0x100000 / 4096) {
            XCTAssertEqual(block.withUnsafeBytes { scanner.scan($0) }, .needMore)
        }
        XCTAssertEqual(Array(ascii: "\r\n0\r\n\r\n").withUnsafeBytes { scanner.scan($0) }, .done(7))
    }

    /// Skipping chunk data unseen (the proxy splices it) leaves the scanner where scanning it
    /// would: at the data's CRLF, for every point the skip starts and every length it has.
    func testSkippingDataEqualsScanningIt() {
        let body = Array("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\nxyz\r\n0\r\n\r\n".utf8)
        let dataStart = 4  // after "1a\r\n"
        for before in 0...26 {
            for skip in 0...(26 - before) {
                var scanner = ChunkedScanner()
                XCTAssertEqual(body[..<(dataStart + before)].withUnsafeBytes { scanner.scan($0) }, .needMore)
                XCTAssertEqual(scanner.dataRemaining, 26 - before)
                scanner.skipData(skip)
                XCTAssertEqual(scanner.dataRemaining, 26 - before - skip)
                let rest = body[(dataStart + before + skip)...]
                XCTAssertEqual(
                    rest.withUnsafeBytes { scanner.scan($0) }, .done(rest.count), "before \(before) skip \(skip)")
            }
        }
    }

    func testNoDataToSkipOutsideChunkData() {
        var scanner = ChunkedScanner()
        XCTAssertEqual(scanner.dataRemaining, 0, "at a size line")
        XCTAssertEqual(Array("5\r".utf8).withUnsafeBytes { scanner.scan($0) }, .needMore)
        XCTAssertEqual(scanner.dataRemaining, 0, "the size line is not over yet")
        scanner.skipData(3)
        XCTAssertEqual(Array("\nhello\r\n0\r\n\r\n".utf8).withUnsafeBytes { scanner.scan($0) }, .done(13))
        XCTAssertEqual(scanner.dataRemaining, 0, "done")
        scanner.skipData(100)
        XCTAssertTrue(scanner.isDone)
    }
}
