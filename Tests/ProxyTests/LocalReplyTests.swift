import SluiceIO
import XCTest

@testable import Proxy

final class LocalReplyTests: XCTestCase {
    private func render(_ cache: LocalReply.Cache, _ status: Int, close: Bool) -> String {
        let buffer = IOBuffer(capacity: 64, limit: 4096)
        cache.append(status: status, close: close, to: buffer)
        return String(decoding: buffer.readable, as: UTF8.self)
    }

    private func dateless(_ text: String) -> String {
        guard let r = text.range(of: "date: ") else { return text }
        let end = text.index(r.upperBound, offsetBy: 29)
        XCTAssertNotNil(
            text[r.upperBound..<end].range(
                of: #"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$"#, options: .regularExpression))
        return text.replacingCharacters(in: r.upperBound..<end, with: "DATE")
    }

    func test403IsEnvoysAnswerByteForByte() {
        let cache = LocalReply.Cache(accessDenied: "Access denied")
        XCTAssertEqual(
            dateless(render(cache, 403, close: false)),
            "HTTP/1.1 403 Forbidden\r\ncontent-length: 15\r\ncontent-type: text/plain\r\ndate: DATE\r\n"
                + "server: envoy\r\n\r\nAccess denied\r\n")
        XCTAssertEqual(
            dateless(render(cache, 403, close: true)),
            "HTTP/1.1 403 Forbidden\r\ncontent-length: 15\r\ncontent-type: text/plain\r\ndate: DATE\r\n"
                + "server: envoy\r\nconnection: close\r\n\r\nAccess denied\r\n")
    }

    func testCustomAccessDeniedMessageGetsCRLFOnce() {
        XCTAssertTrue(render(LocalReply.Cache(accessDenied: "Nope"), 403, close: false).hasSuffix("\r\n\r\nNope\r\n"))
        XCTAssertTrue(
            render(LocalReply.Cache(accessDenied: "Nope\r\n"), 403, close: false).hasSuffix("\r\n\r\nNope\r\n"))
        XCTAssertTrue(
            render(LocalReply.Cache(accessDenied: "Nope"), 403, close: false).contains("content-length: 6\r\n"))
    }

    func testEveryGeneratedStatusHasItsLineAndBodyLength() {
        let cache = LocalReply.Cache(accessDenied: "Access denied")
        let cases: [(Int, String, String)] = [
            (400, "400 Bad Request", "Bad Request"),
            (431, "431 Request Header Fields Too Large", "Bad Request"),
            (502, "502 Bad Gateway", "upstream sent an invalid response"),
            (
                503, "503 Service Unavailable",
                "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
            ),
            (504, "504 Gateway Timeout", "upstream request timeout"),
            (505, "505 HTTP Version Not Supported", "Bad Request"),
            (418, "418 Error", "Bad Request"),
        ]
        for (status, line, body) in cases {
            XCTAssertEqual(
                dateless(render(cache, status, close: true)),
                "HTTP/1.1 \(line)\r\ncontent-length: \(body.utf8.count)\r\ncontent-type: text/plain\r\n"
                    + "date: DATE\r\nserver: envoy\r\nconnection: close\r\n\r\n\(body)", "status \(status)")
        }
    }

    func testRepeatedRendersAppendAndKeepTheCachedBytesIntact() {
        let cache = LocalReply.Cache(accessDenied: "Access denied")
        let buffer = IOBuffer(capacity: 64, limit: 4096)
        cache.append(status: 403, close: false, to: buffer)
        let one = buffer.readableCount
        cache.append(status: 403, close: false, to: buffer)
        XCTAssertEqual(buffer.readableCount, 2 * one)
        let text = String(decoding: buffer.readable, as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "HTTP/1.1 403 Forbidden").count, 3)
        XCTAssertEqual(render(cache, 403, close: false).utf8.count, one)
    }
}
