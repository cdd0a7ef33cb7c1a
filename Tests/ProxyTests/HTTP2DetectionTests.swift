import HTTP1
import HTTP2
import XCTest

@testable import Proxy

/// Protocol detection on the first bytes, the h2c upgrade request turned into stream 1, the
/// request view policy sees, and the local answers.
final class HTTP2DetectionTests: XCTestCase {
    private func classify(_ s: String) -> HTTP2Preface.Kind {
        Array(s.utf8).withUnsafeBytes { HTTP2Preface.classify($0) }
    }

    func testPrefaceAtEveryLength() {
        let preface = String(decoding: HTTP2Preface.bytes, as: UTF8.self)
        for n in 0..<HTTP2Preface.bytes.count {
            // Bytes, not Characters: "\r\n" is one Character.
            XCTAssertEqual(
                Array(HTTP2Preface.bytes.prefix(n)).withUnsafeBytes { HTTP2Preface.classify($0) },
                .needMore, "\(n) bytes")
        }
        XCTAssertEqual(classify(preface), .http2)
        XCTAssertEqual(classify(preface + "\0\0\0\u{4}"), .http2)
        XCTAssertEqual(classify("POST / HTTP/1.1\r\n"), .http1)
        XCTAssertEqual(classify("PRI * HTTP/1.1\r\n"), .http1)
        XCTAssertEqual(classify("GET / HTTP/1.1\r\n"), .http1)
    }

    func testBase64URL() {
        func decode(_ s: String) -> [UInt8]? { Array(s.utf8).withUnsafeBytes { HTTP2Upgrade.base64url($0) } }
        XCTAssertEqual(decode("AAMAAABkAAQCAAAAAAIAAAAA"), [0, 3, 0, 0, 0, 100, 0, 4, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0])
        XCTAssertEqual(decode("_-8"), [0xFF, 0xEF])
        XCTAssertEqual(decode(""), [])
        XCTAssertNil(decode("a b"))
    }

    private func upgrade(_ text: String) -> HTTP2Upgrade? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw -> HTTP2Upgrade? in
            var head = RequestHead()
            guard case .complete = HTTP1Parser.parseRequestHead(raw, into: &head, limits: .default) else { return nil }
            XCTAssertTrue(head.upgradeH2C)
            return HTTP2Upgrade(bytes: raw, head: head)
        }
    }

    func testUpgradeRequestBecomesStreamOne() throws {
        let u = try XCTUnwrap(
            upgrade(
                "POST /p?q=1 HTTP/1.1\r\nHost: backend:8080\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nX-Thing: A\r\nTE: trailers\r\n"
                    + "Content-Length: 5\r\n\r\nhello"))
        XCTAssertEqual(u.bodyLength, 5)
        XCTAssertFalse(u.isHEAD)
        XCTAssertEqual(u.settings.count, 18)
        XCTAssertEqual(
            u.block.pairs.map { "\($0.0)=\($0.1)" },
            [
                ":method=POST", ":scheme=http", ":authority=backend:8080", ":path=/p?q=1",
                "x-thing=A", "te=trailers", "content-length=5",
            ])
    }

    func testChunkedUpgradeIsRefused() {
        XCTAssertNil(
            upgrade(
                "POST / HTTP/1.1\r\nHost: b\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: AAMAAABk\r\nTransfer-Encoding: chunked\r\n\r\n"))
    }

    func testRequestViewFields() {
        let block = HTTP2HeaderBlock([
            (":method", "POST"), (":scheme", "http"), (":path", "/pkg.S/M"),
            ("host", "svc:50051"), ("content-type", "application/grpc+proto"), ("x-a", "1"),
        ])
        HTTP2RequestView.with(block) { v in
            XCTAssertEqual(Array(v.method), Array("POST".utf8))
            XCTAssertEqual(Array(v.path), Array("/pkg.S/M".utf8))
            XCTAssertEqual(Array(v.authority), Array("svc:50051".utf8), "Host when :authority is missing")
            XCTAssertTrue(v.isGRPC)
            var names: [String] = []
            v.forEachHeader { n, _ in
                names.append(String(decoding: n, as: UTF8.self)); return true
            }
            XCTAssertEqual(names, ["host", "content-type", "x-a"], "no pseudo-headers")
        }
        let plain = HTTP2HeaderBlock([
            (":method", "GET"), (":authority", "a"), (":path", "/"), ("content-type", "text/grpc"),
        ])
        HTTP2RequestView.with(plain) { XCTAssertFalse($0.isGRPC) }
    }

    func testLocalReplies() {
        let denied = HTTP2LocalReply.make(status: 403, grpc: false, accessDenied: "Access denied")
        XCTAssertEqual(denied.status, 403)
        XCTAssertEqual(denied.body, Array("Access denied\r\n".utf8))
        XCTAssertEqual(denied.headers.pairs.map(\.0), [":status", "content-length", "content-type", "date", "server"])
        XCTAssertEqual(denied.headers.text(of: "content-length"), "15")
        XCTAssertEqual(denied.headers.text(of: "date")?.count, 29)
        let grpc = HTTP2LocalReply.make(status: 403, grpc: true, accessDenied: "Access denied")
        XCTAssertEqual(grpc.status, 200)
        XCTAssertTrue(grpc.body.isEmpty)
        XCTAssertEqual(grpc.headers.text(of: "grpc-status"), "7")
        XCTAssertEqual(grpc.headers.text(of: "grpc-message"), "Access denied%0D%0A")
        XCTAssertEqual(
            HTTP2LocalReply.make(status: 503, grpc: true, accessDenied: "x").headers.text(of: "grpc-status"), "14")
        XCTAssertEqual(HTTP2LocalReply.percentEncoded(Array("100% é".utf8)), "100%25 %C3%A9")
    }
}
