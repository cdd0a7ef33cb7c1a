import HTTP2
import XCTest

@testable import Proxy

/// An HTTP/2 request's header block as the policy matches it: pseudo-headers as method, path and
/// authority (Host when there is no :authority), the other fields as headers, gRPC and HEAD.
final class HTTP2RequestViewTests: XCTestCase {
    private func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    private func view<T>(_ pairs: [(String, String)], _ body: (HTTP2RequestView) -> T) -> T {
        HTTP2RequestView.with(HTTP2HeaderBlock(pairs), body)
    }

    func testPseudoHeadersAreMethodPathAndAuthority() {
        let fields = [
            (":method", "GET"), (":scheme", "http"), (":authority", "api.test"), (":path", "/a?b"), ("host", "other"),
            ("x-id", "1"), ("x-id", "2"),
        ]
        view(fields) { request in
            XCTAssertEqual(text(request.method), "GET")
            XCTAssertEqual(text(request.path), "/a?b")
            XCTAssertEqual(text(request.authority), "api.test", ":authority wins over host")
            XCTAssertFalse(request.isHEAD)
            XCTAssertFalse(request.isGRPC)
            var headers: [String] = []
            request.forEachHeader { name, value in
                headers.append(text(name) + "=" + text(value))
                return true
            }
            XCTAssertEqual(headers, ["host=other", "x-id=1", "x-id=2"], "pseudo-headers are not headers")
            var first: [String] = []
            request.forEachHeader { name, _ in
                first.append(text(name))
                return false
            }
            XCTAssertEqual(first, ["host"], "returning false stops the walk")
        }
    }

    func testHostStandsInForAMissingAuthority() {
        view([(":method", "HEAD"), (":path", "/"), ("host", "h.test")]) { request in
            XCTAssertEqual(text(request.authority), "h.test")
            XCTAssertTrue(request.isHEAD)
        }
        view([(":method", "head"), (":path", "/")]) { request in
            XCTAssertEqual(request.authority.count, 0)
            XCTAssertFalse(request.isHEAD, "methods are case-sensitive")
        }
    }

    func testGRPCIsTheContentTypePrefixInAnyCase() {
        XCTAssertTrue(view([("content-type", "application/grpc+proto")]) { $0.isGRPC })
        XCTAssertTrue(view([("content-type", "Application/GRPC")]) { $0.isGRPC })
        XCTAssertFalse(view([("content-type", "application/json")]) { $0.isGRPC })
        XCTAssertFalse(view([("content-type", "application/grp")]) { $0.isGRPC })
    }
}
