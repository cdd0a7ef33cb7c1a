import XCTest

@testable import HTTP1

/// Every rejection rule with its status; each input is also fed at every prefix, which must give
/// `.needMore` or the same error.
final class HTTP1ParserTests: XCTestCase {
    private let host = "Host: a\r\n"

    func testRequestLine() {
        assertRequestError("GET  / HTTP/1.1\r\n\r\n", .badTarget)
        assertRequestError(" GET / HTTP/1.1\r\n\r\n", .badMethod)
        assertRequestError("G(T / HTTP/1.1\r\n\r\n", .badMethod)
        assertRequestError("GET\t/ HTTP/1.1\r\n\r\n", .badMethod)
        assertRequestError("GET /\r\n\r\n", .badRequestLine)
        assertRequestError("GET / HTTP/1.1 \r\n\r\n", .badLineEnding)
        assertRequestError("GET / http/1.1\r\n\r\n", .badVersion)
        assertRequestError("GET / HTTP/1\r\n\r\n", .badVersion)
        assertRequestError("GET / HTTP/1.x\r\n\r\n", .badVersion)
        assertRequestError("GET / HTTP/11.1\r\n\r\n", .badVersion)
        assertRequestError("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion)
        assertRequestError("GET / HTTP/1.2\r\n\r\n", .unsupportedVersion)
        assertRequestError("GET / HTTP/0.9\r\n\r\n", .unsupportedVersion)
        XCTAssertEqual(ParseError.unsupportedVersion.status, 505)
    }

    func testTargetBytes() {
        assertRequestError("GET /a\u{01}b HTTP/1.1\r\n\(host)\r\n", .badTarget)
        assertRequestError("GET /a\u{7F}b HTTP/1.1\r\n\(host)\r\n", .badTarget)
        assertRequestError("GET /a\0b HTTP/1.1\r\n\(host)\r\n", .badTarget)
        assertRequestError("GET /caf\u{E9} HTTP/1.1\r\n\(host)\r\n", .badTarget)
    }

    func testTargetTooLongIs414EvenBeforeTheLineEnds() {
        let limits = Limits(maxTargetBytes: 8)
        assertRequestError("GET /12345678 HTTP/1.1\r\n\(host)\r\n", .targetTooLong, limits: limits)
        XCTAssertEqual(parseRequest(Array(ascii: "GET /123456789"), limits: limits).0, .error(.targetTooLong))
        XCTAssertEqual(parseRequest(Array(ascii: "GET /1234567"), limits: limits).0, .needMore)
        XCTAssertEqual(ParseError.targetTooLong.status, 414)
    }

    func testBareLFAndLoneCR() {
        assertRequestError("GET / HTTP/1.1\nHost: a\n\n", .badLineEnding)
        assertRequestError("GET / HTTP/1.1\r\nHost: a\n\r\n", .badLineEnding)
        assertRequestError("GET / HTTP/1.1\r\nHost: a\r\n\n", .badLineEnding)
        assertRequestError("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", .badLineEnding)
        assertRequestError("\nGET / HTTP/1.1\r\n\(host)\r\n", .badLineEnding)
        assertRequestError("\r\rGET / HTTP/1.1\r\n\(host)\r\n", .badLineEnding)
    }

    func testFieldSyntax() {
        assertRequestError("GET / HTTP/1.1\r\n\(host) folded\r\n\r\n", .obsFold)
        assertRequestError("GET / HTTP/1.1\r\n\tX: 1\r\n\(host)\r\n", .obsFold)
        assertRequestError("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .spaceBeforeColon)
        assertRequestError("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .spaceBeforeColon)
        assertRequestError("GET / HTTP/1.1\r\n: a\r\n\(host)\r\n", .badFieldName)
        assertRequestError("GET / HTTP/1.1\r\nNo colon\r\n\(host)\r\n", .spaceBeforeColon)
        assertRequestError("GET / HTTP/1.1\r\nNoColon\r\n\(host)\r\n", .badFieldName)
        assertRequestError("GET / HTTP/1.1\r\nX(y): a\r\n\(host)\r\n", .badFieldName)
        assertRequestError("GET / HTTP/1.1\r\nX\0: a\r\n\(host)\r\n", .badFieldName)
    }

    func testControlCharactersInValues() {
        assertRequestError("GET / HTTP/1.1\r\n\(host)X: a\0b\r\n\r\n", .badFieldValue)
        assertRequestError("GET / HTTP/1.1\r\n\(host)X: a\u{01}b\r\n\r\n", .badFieldValue)
        assertRequestError("GET / HTTP/1.1\r\n\(host)X: a\u{7F}\r\n\r\n", .badFieldValue)
        assertRequestError("GET / HTTP/1.1\r\n\(host)X: \u{1B}[0m\r\n\r\n", .badFieldValue)
        assertRequestError("G\0T / HTTP/1.1\r\n\(host)\r\n", .badMethod)
    }

    func testHost() {
        assertRequestError("GET / HTTP/1.1\r\nX: y\r\n\r\n", .missingHost)
        assertRequestError("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", .duplicateHost)
        assertRequestError("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n", .duplicateHost)
    }

    func testTransferEncoding() {
        let line = "POST / HTTP/1.1\r\n\(host)"
        assertRequestError(
            line + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            .transferEncodingWithContentLength)
        assertRequestError(
            line + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            .transferEncodingWithContentLength)
        assertRequestError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10)
        assertRequestError(line + "Transfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding)
        assertRequestError(line + "Transfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding)
        assertRequestError(line + "Transfer-Encoding: chunked, identity\r\n\r\n", .unsupportedTransferEncoding)
        assertRequestError(line + "Transfer-Encoding: xchunked\r\n\r\n", .unsupportedTransferEncoding)
        assertRequestError(line + "Transfer-Encoding: chunked, chunked\r\n\r\n", .badTransferEncoding)
        assertRequestError(
            line + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            .badTransferEncoding)
        assertRequestError(line + "Transfer-Encoding:\r\n\r\n", .badTransferEncoding)
        assertRequestError(line + "Transfer-Encoding: ,\r\n\r\n", .badTransferEncoding)
        XCTAssertEqual(ParseError.unsupportedTransferEncoding.status, 501)
    }

    func testContentLength() {
        let line = "POST / HTTP/1.1\r\n\(host)"
        for bad in ["abc", "-1", "+5", "5.0", "0x10", "", "5,", ",5", "5 5", "99999999999999999999"] {
            assertRequestError(line + "Content-Length: \(bad)\r\n\r\n", .badContentLength)
        }
        assertRequestError(line + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", .conflictingContentLength)
        assertRequestError(line + "Content-Length: 5, 6\r\n\r\n", .conflictingContentLength)
        let max = "Content-Length: \(Int.max)\r\n\r\n"
        XCTAssertEqual(parseRequest(Array(ascii: line + max)).1.framing, .contentLength(Int.max))
    }

    func testHeadTooLarge() {
        let bytes = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n"
        let count = bytes.utf8.count
        assertRequestError(bytes, .headTooLarge, limits: Limits(maxHeadBytes: count - 1))
        // Incomplete and already past the limit: rejected without waiting for the end.
        let partial = Array(ascii: "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789")
        XCTAssertEqual(parseRequest(partial, limits: Limits(maxHeadBytes: 20)).0, .error(.headTooLarge))
        XCTAssertEqual(parseRequest(partial, limits: Limits(maxHeadBytes: partial.count)).0, .needMore)
        XCTAssertEqual(ParseError.headTooLarge.status, 431)
    }

    func testTooManyHeaders() {
        let request = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"
        assertRequestError(request, .tooManyHeaders, limits: Limits(maxHeaderCount: 2))
        XCTAssertEqual(parseRequest(Array(ascii: request), limits: Limits(maxHeaderCount: 3)).0, .complete)
        XCTAssertEqual(ParseError.tooManyHeaders.status, 431)
    }

    func testStatusLine() {
        assertResponseError("HTTP/1.1 20 OK\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1 099 Low\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1 2000 OK\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1 200OK\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1  200 OK\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1 200 O\u{01}K\r\n\r\n", .badStatusLine)
        assertResponseError("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", .badLineEnding)
        assertResponseError("HTTP/2 200\r\n\r\n", .badVersion)
        assertResponseError("\r\nHTTP/1.1 200 OK\r\n\r\n", .badVersion)
        assertResponseError("ICY 200 OK\r\n\r\n", .badVersion)
        assertResponseError("HTTP/3.0 200 OK\r\n\r\n", .unsupportedVersion)
    }

    func testResponseFieldsAndFraming() {
        assertResponseError("HTTP/1.1 200 OK\r\nX : y\r\n\r\n", .spaceBeforeColon)
        assertResponseError("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", .obsFold)
        assertResponseError("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", .badFieldValue)
        assertResponseError("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .badContentLength)
        assertResponseError(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            .conflictingContentLength)
        assertResponseError(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
            .transferEncodingWithContentLength)
        assertResponseError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10)
        assertResponseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .badTransferEncoding)
        // Malformed framing is rejected even when the status means "no body".
        assertResponseError("HTTP/1.1 204 OK\r\nContent-Length: -1\r\n\r\n", .badContentLength)
        assertResponseError("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .badContentLength, head: true)
    }

    func testEveryErrorStatusIsOneTheProxyCanSend() {
        let all: [ParseError] = [
            .badRequestLine, .badStatusLine, .badMethod, .badTarget, .targetTooLong, .badVersion,
            .unsupportedVersion, .badLineEnding, .obsFold, .spaceBeforeColon, .badFieldName, .badFieldValue,
            .headTooLarge, .tooManyHeaders, .missingHost, .duplicateHost, .badContentLength,
            .conflictingContentLength, .transferEncodingWithContentLength, .transferEncodingInHTTP10,
            .badTransferEncoding, .unsupportedTransferEncoding, .badChunkSize, .chunkSizeOverflow,
            .badChunkExtension, .chunkLineTooLong, .badChunkData, .badTrailer, .trailersTooLarge,
        ]
        for error in all {
            XCTAssertTrue([400, 414, 431, 501, 505].contains(error.status), error.reason)
            XCTAssertFalse(error.reason.isEmpty)
        }
        XCTAssertEqual(Set(all.map(\.reason)).count, all.count, "reasons are distinct")
    }
}
