import XCTest

@testable import HTTP1

/// Valid response fixtures, byte-exact, each also fed split at every byte offset.
final class ResponseHeadTests: XCTestCase {
    func testOKWithContentLength() {
        let bytes = Array(
            ascii:
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello")
        let head = assertResponseEverySplit(bytes)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(bytes.text(head.reason), "OK")
        XCTAssertEqual(head.versionMinor, 1)
        XCTAssertEqual(head.framing, .contentLength(5))
        XCTAssertTrue(head.keepAlive)
        XCTAssertEqual(head.headLength, bytes.count - 5)
        XCTAssertEqual(
            fieldTexts(head.headers, in: bytes),
            [
                ["Content-Length", "5"], ["Content-Type", "text/plain; charset=utf-8"],
            ])
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(Array(head.reason(in: raw)), Array(ascii: "OK"))
            XCTAssertEqual(head.firstValue(named: "CONTENT-TYPE", in: raw), head.headers[1].value)
        }
    }

    func testChunkedResponse() {
        let bytes = Array(ascii: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        let head = assertResponseEverySplit(bytes)
        XCTAssertEqual(head.framing, .chunked)
        XCTAssertTrue(head.keepAlive)
    }

    func testResponseWithFinalChunkedAfterOtherCoding() {
        let head = assertResponseEverySplit(
            Array(
                ascii:
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"))
        XCTAssertEqual(head.framing, .chunked)
    }

    func testMissingReasonPhrase() {
        let bare = Array(ascii: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
        let head = assertResponseEverySplit(bare)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.reason.count, 0)
        XCTAssertEqual(head.framing, .contentLength(0))
        let emptyReason = assertResponseEverySplit(Array(ascii: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"))
        XCTAssertEqual(emptyReason.status, 404)
        XCTAssertEqual(emptyReason.reason.count, 0)
    }

    func testNoBodyStatuses() {
        for (line, status) in [
            ("204 No Content", 204), ("304 Not Modified", 304), ("100 Continue", 100),
            ("101 Switching Protocols", 101), ("103 Early Hints", 103),
        ] {
            let bytes = Array(ascii: "HTTP/1.1 \(line)\r\nContent-Length: 12\r\n\r\n")
            let head = assertResponseEverySplit(bytes)
            XCTAssertEqual(head.status, status)
            XCTAssertEqual(head.framing, BodyFraming.none, line)
            XCTAssertTrue(head.keepAlive, line)
            XCTAssertEqual(head.isInformational, status < 200)
        }
    }

    func testResponseToHEADHasNoBody() {
        let bytes = Array(ascii: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        let head = assertResponseEverySplit(bytes, head: true)
        XCTAssertEqual(head.framing, BodyFraming.none)
        XCTAssertTrue(head.keepAlive)
        XCTAssertEqual(assertResponseEverySplit(bytes, head: false).framing, .contentLength(1000))
    }

    func testUntilCloseWithoutLength() {
        let head = assertResponseEverySplit(Array(ascii: "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody..."))
        XCTAssertEqual(head.framing, .untilClose)
        XCTAssertFalse(head.keepAlive)
        let gzip = assertResponseEverySplit(Array(ascii: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"))
        XCTAssertEqual(gzip.framing, .untilClose)
        XCTAssertFalse(gzip.keepAlive)
    }

    func testHTTP10Responses() {
        let close = assertResponseEverySplit(Array(ascii: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
        XCTAssertEqual(close.versionMinor, 0)
        XCTAssertFalse(close.keepAlive)
        let keep = assertResponseEverySplit(
            Array(
                ascii:
                    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"))
        XCTAssertTrue(keep.keepAlive)
    }

    func testConnectionCloseResponse() {
        let head = assertResponseEverySplit(
            Array(
                ascii:
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 15\r\nconnection: close\r\n\r\nAccess denied\r\n"))
        XCTAssertEqual(head.status, 403)
        XCTAssertFalse(head.keepAlive)
        XCTAssertEqual(head.framing, .contentLength(15))
    }

    func testReasonWithTabsAndObsText() {
        var bytes = Array(ascii: "HTTP/1.1 500 Bad\tthing ")
        bytes += [0xE2, 0x9C, 0x97]
        bytes += Array(ascii: "\r\nContent-Length: 0\r\n\r\n")
        let head = assertResponseEverySplit(bytes)
        XCTAssertEqual(head.reason.count, 13)
    }
}
