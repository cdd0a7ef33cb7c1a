import HTTP2
import XCTest

@testable import Proxy

/// The proxy's own HTTP/2 answers as Envoy gives them: plain text with its length, gRPC as a
/// 200 with grpc-status and the percent-encoded message, a redirect with its location.
final class HTTP2LocalReplyTests: XCTestCase {
    private func fields(_ block: HTTP2HeaderBlock) -> [(String, String)] {
        block.fields.map {
            (
                String(decoding: block.storage[$0.name], as: UTF8.self),
                String(decoding: block.storage[$0.value], as: UTF8.self)
            )
        }
    }

    private func names(_ block: HTTP2HeaderBlock) -> [String] { fields(block).map(\.0) }

    private func value(_ block: HTTP2HeaderBlock, _ name: String) -> String? {
        fields(block).first { $0.0 == name }?.1
    }

    func testPlainTextDenial() {
        let reply = HTTP2LocalReply.make(status: 403, grpc: false, accessDenied: "Access denied")
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.body, Array("Access denied\r\n".utf8))
        XCTAssertEqual(names(reply.headers), [":status", "content-length", "content-type", "date", "server"])
        XCTAssertEqual(value(reply.headers, ":status"), "403")
        XCTAssertEqual(value(reply.headers, "content-length"), "15")
        XCTAssertEqual(value(reply.headers, "server"), "envoy")
        XCTAssertEqual(value(reply.headers, "date")?.count, 29, "an IMF-fixdate")
        XCTAssertEqual(value(reply.headers, "date")?.hasSuffix(" GMT"), true)
    }

    func testGRPCDenialIsA200WithTheStatusInTrailersOnlyForm() {
        let reply = HTTP2LocalReply.make(status: 403, grpc: true, accessDenied: "Access denied")
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.body, [])
        XCTAssertEqual(value(reply.headers, ":status"), "200")
        XCTAssertEqual(value(reply.headers, "content-type"), "application/grpc")
        XCTAssertEqual(value(reply.headers, "grpc-status"), "7")
        XCTAssertEqual(value(reply.headers, "grpc-message"), "Access denied%0D%0A")
    }

    func testARedirectCarriesItsLocationUnlessGRPC() {
        let reply = HTTP2LocalReply.make(status: 301, grpc: false, accessDenied: "", location: Array("/new".utf8))
        XCTAssertEqual(names(reply.headers), [":status", "location", "content-length", "date", "server"])
        XCTAssertEqual(value(reply.headers, "location"), "/new")
        XCTAssertEqual(value(reply.headers, "content-length"), "0")
        XCTAssertEqual(reply.body, [])
        let grpc = HTTP2LocalReply.make(status: 301, grpc: true, accessDenied: "", location: Array("/new".utf8))
        XCTAssertNil(value(grpc.headers, "location"))
        XCTAssertEqual(value(grpc.headers, "grpc-status"), "2")
    }

    func testGRPCStatusesAndPercentEncoding() {
        XCTAssertEqual(
            [400, 401, 403, 404, 429, 502, 503, 504, 500].map(HTTP2LocalReply.grpcStatus(forHTTP:)),
            [13, 16, 7, 12, 14, 14, 14, 14, 2])
        XCTAssertEqual(HTTP2LocalReply.percentEncoded(Array("a b%~\u{7F}\n".utf8)), "a b%25~%7F%0A")
        XCTAssertEqual(HTTP2LocalReply.percentEncoded(Array("é".utf8)), "%C3%A9")
    }
}
