import XCTest

@testable import HTTP1

/// Valid request fixtures, byte-exact, each also fed split at every byte offset.
final class RequestHeadTests: XCTestCase {
    func testGETWithHeaders() {
        let bytes = Array(
            ascii:
                "GET /index.html?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.0\r\n"
                + "Accept: */*\r\nX-Empty:\r\nX-Spaces: \t padded  value \t \r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(bytes.text(head.method), "GET")
        XCTAssertEqual(bytes.text(head.target), "/index.html?x=1&y=%20")
        XCTAssertEqual(head.versionMinor, 1)
        XCTAssertEqual(head.headLength, bytes.count)
        XCTAssertEqual(
            fieldTexts(head.headers, in: bytes),
            [
                ["Host", "example.com:8080"], ["User-Agent", "curl/8.0"], ["Accept", "*/*"],
                ["X-Empty", ""], ["X-Spaces", "padded  value"],
            ])
        XCTAssertEqual(head.framing, BodyFraming.none)
        XCTAssertTrue(head.keepAlive)
        XCTAssertEqual(bytes.text(head.host), "example.com:8080")
        XCTAssertFalse(head.expectContinue)
        XCTAssertFalse(head.upgradeH2C)
        XCTAssertNil(head.upgrade)
    }

    func testPOSTWithContentLength() {
        let bytes = Array(ascii: "POST /api/v1 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(bytes.text(head.method), "POST")
        XCTAssertEqual(head.framing, .contentLength(5))
        XCTAssertEqual(head.headLength, bytes.count - 5)
        XCTAssertEqual(bytes.text(head.headLength..<bytes.count), "hello")
    }

    func testChunkedRequest() {
        let bytes = Array(
            ascii:
                "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(head.framing, .chunked)
        XCTAssertEqual(bytes.text(head.headLength..<head.headLength + 3), "5\r\n")
    }

    func testHTTP10DefaultsToClose() {
        let bytes = Array(ascii: "GET / HTTP/1.0\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(head.versionMinor, 0)
        XCTAssertFalse(head.keepAlive)
        XCTAssertNil(head.host)
        XCTAssertEqual(head.headers, [])
        XCTAssertEqual(head.headLength, bytes.count)
    }

    func testHTTP10KeepAlive() {
        let bytes = Array(ascii: "HEAD /x HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertTrue(head.keepAlive)
        XCTAssertTrue(head.methodIs("HEAD", in: bytes.withUnsafeBytes { $0 }))
    }

    func testConnectionCloseTokenList() {
        let head = assertRequestEverySplit(Array(ascii: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n"))
        XCTAssertFalse(head.keepAlive)
        let other = assertRequestEverySplit(Array(ascii: "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n"))
        XCTAssertTrue(other.keepAlive)
    }

    func testPipelinedRequests() {
        let first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nhi"
        let bytes = Array(ascii: first + second)
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(head.headLength, first.utf8.count)
        XCTAssertEqual(bytes.text(head.target), "/one")

        let rest = Array(bytes[head.headLength...])
        let next = assertRequestEverySplit(rest)
        XCTAssertEqual(rest.text(next.target), "/two")
        XCTAssertEqual(rest.text(next.host), "b")
        XCTAssertEqual(next.framing, .contentLength(2))
        XCTAssertEqual(next.headLength, rest.count - 2)
    }

    func testUpgradeH2C() {
        let bytes = Array(
            ascii:
                "GET / HTTP/1.1\r\nHost: server\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertTrue(head.upgradeH2C)
        XCTAssertEqual(bytes.text(head.upgrade), "h2c")
        XCTAssertTrue(head.keepAlive)
    }

    func testUpgradeH2CNeedsAllThreeFields() {
        let noSettings = assertRequestEverySplit(
            Array(
                ascii:
                    "GET / HTTP/1.1\r\nHost: s\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"))
        XCTAssertFalse(noSettings.upgradeH2C)
        let noConnection = assertRequestEverySplit(
            Array(
                ascii:
                    "GET / HTTP/1.1\r\nHost: s\r\nUpgrade: h2c\r\nHTTP2-Settings: AA\r\n\r\n"))
        XCTAssertFalse(noConnection.upgradeH2C)
        XCTAssertNil(noConnection.upgrade)
        let websocket = Array(
            ascii:
                "GET /ws HTTP/1.1\r\nHost: s\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n")
        let head = assertRequestEverySplit(websocket)
        XCTAssertFalse(head.upgradeH2C)
        XCTAssertEqual(websocket.text(head.upgrade), "websocket")
    }

    func testLeadingEmptyLinesAreSkipped() {
        let bytes = Array(ascii: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(head.method, 4..<7)
        XCTAssertEqual(head.headLength, bytes.count)
    }

    func testExpectContinue() {
        let bytes = Array(
            ascii:
                "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertTrue(head.expectContinue)
        XCTAssertEqual(head.framing, .contentLength(10))
    }

    func testIdenticalContentLengthsAreOneValue() {
        let repeated = assertRequestEverySplit(
            Array(
                ascii:
                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 007\r\n\r\n"))
        XCTAssertEqual(repeated.framing, .contentLength(7))
        let list = assertRequestEverySplit(Array(ascii: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7 , 7\r\n\r\n"))
        XCTAssertEqual(list.framing, .contentLength(7))
        let zero = assertRequestEverySplit(Array(ascii: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"))
        XCTAssertEqual(zero.framing, .contentLength(0))
    }

    func testObsTextAndTabInValueAndOtherTargetForms() {
        var bytes = Array(ascii: "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Latin: caf")
        bytes += [0xC3, 0xA9, 0x09, 0x78]
        bytes += Array(ascii: "\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        XCTAssertEqual(bytes.text(head.target), "*")
        XCTAssertEqual(head.headers.last.map { Array(bytes[$0.value]) }, [0x63, 0x61, 0x66, 0xC3, 0xA9, 0x09, 0x78])

        let connect = Array(ascii: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        XCTAssertEqual(connect.text(assertRequestEverySplit(connect).target), "example.com:443")
        let absolute = Array(ascii: "GET http://a.example/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n")
        XCTAssertEqual(absolute.text(assertRequestEverySplit(absolute).target), "http://a.example/p?q")
    }

    func testHelpersSliceTheBuffer() {
        let bytes = Array(ascii: "DELETE /item/7 HTTP/1.1\r\nHost: h.example\r\nX-Id: 42\r\n\r\n")
        let head = assertRequestEverySplit(bytes)
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(Array(head.method(in: raw)), Array(ascii: "DELETE"))
            XCTAssertEqual(Array(head.target(in: raw)), Array(ascii: "/item/7"))
            XCTAssertEqual(head.host(in: raw).map { Array($0) }, Array(ascii: "h.example"))
            XCTAssertTrue(head.methodIs("DELETE", in: raw))
            XCTAssertFalse(head.methodIs("delete", in: raw))
            XCTAssertEqual(head.firstValue(named: "x-id", in: raw), head.headers[1].value)
            XCTAssertNil(head.firstValue(named: "x-missing", in: raw))
            XCTAssertEqual(Array(head.headers[1].name(in: raw)), Array(ascii: "X-Id"))
            XCTAssertEqual(Array(head.headers[1].value(in: raw)), Array(ascii: "42"))
            // A range from a longer buffer gives an empty slice, not an out-of-bounds read.
            let short = UnsafeRawBufferPointer(rebasing: raw[0..<3])
            XCTAssertEqual(head.target(in: short).count, 0)
        }
    }

    func testHeadIsReusedAndReset() {
        var head = RequestHead()
        let big = Array(ascii: "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nContent-Length: 3\r\n\r\n")
        let small = Array(ascii: "GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(big.withUnsafeBytes { HTTP1Parser.parseRequestHead($0, into: &head) }, .complete)
        XCTAssertEqual(head.headers.count, 4)
        XCTAssertEqual(small.withUnsafeBytes { HTTP1Parser.parseRequestHead($0, into: &head) }, .complete)
        XCTAssertEqual(head.headers.count, 0)
        XCTAssertGreaterThanOrEqual(head.headers.capacity, 4)
        XCTAssertEqual(head.framing, BodyFraming.none)
        XCTAssertNil(head.host)
    }

    /// `reset` (before every parse) returns each field to a fresh head's value, whatever the last
    /// request set, and keeps the list's storage.
    func testResetLeavesAFreshHeadWithTheListsCapacity() {
        var head = RequestHead()
        let every = Array(
            ascii: "\r\nPOST http://a/x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nExpect: 100-continue\r\n"
                + "Content-Length: 2, 2\r\n\r\n")
        XCTAssertEqual(every.withUnsafeBytes { HTTP1Parser.parseRequestHead($0, into: &head) }, .complete)
        XCTAssertTrue(head.upgradeH2C && head.expectContinue && head.contentLengthRepeated && head.keepAlive)
        XCTAssertNotNil(head.upgrade)
        XCTAssertNotEqual(head.method, 0..<0)
        head.versionMinor = 0
        head.reset()
        XCTAssertEqual(head, RequestHead())
        XCTAssertGreaterThanOrEqual(head.headers.capacity, 6)
    }

    func testHeadExactlyAtLimitsIsAccepted() {
        let bytes = Array(ascii: "GET /abc HTTP/1.1\r\nHost: a\r\nB: c\r\n\r\n")
        let limits = Limits(maxHeadBytes: bytes.count, maxHeaderCount: 2, maxTargetBytes: 4)
        let head = assertRequestEverySplit(bytes, limits: limits)
        XCTAssertEqual(head.headLength, bytes.count)
    }

    func testEmptyBufferNeedsMore() {
        XCTAssertEqual(parseRequest([]).0, .needMore)
        XCTAssertEqual(parseRequest(Array(ascii: "\r\n\r\n")).0, .needMore)
    }
}
