import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// Per-stream decisions (HTTP2Connection+Decide): allowed and denied streams on one connection, the 403 and gRPC PERMISSION_DENIED answers, the header-list limit.
/// End to end over loopback, as HTTP2ConnectionTests.
final class HTTP2ConnectionDecideTests: ProxyTestCase {
    func testAllowedAndDeniedStreamsOnOneConnection() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let a = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/one"), hasBody: false)
        let d = try c.session.submitRequest(HTTP2Peer.request("GET", "/other"), hasBody: false)
        let b = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/two"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(a) && c.isClosed(d) && c.isClosed(b) })
        XCTAssertEqual(h2status(c, a), "200")
        XCTAssertEqual(String(decoding: c.body(a), as: UTF8.self), "ok GET /allowed/one 0")
        XCTAssertEqual(h2status(c, b), "200")
        XCTAssertEqual(String(decoding: c.body(b), as: UTF8.self), "ok GET /allowed/two 0")
        let denied = try XCTUnwrap(c.headers(d).first)
        XCTAssertEqual(denied.text(of: ":status"), "403")
        XCTAssertEqual(denied.text(of: "content-type"), "text/plain")
        XCTAssertEqual(denied.text(of: "content-length"), "15")
        XCTAssertEqual(denied.text(of: "server"), "envoy")
        XCTAssertNotNil(denied.text(of: "date"))
        XCTAssertEqual(c.body(d), Array("Access denied\r\n".utf8))
        XCTAssertEqual(upstream.connections.count, 1, "one upstream connection carries the streams")

        let flows = proxy.sink.waitForFlows(6)
        XCTAssertEqual(flows.count, 6)
        XCTAssertTrue(flows.allSatisfy { $0.http?.protocol == "HTTP/2" })
        let requests = flows.filter { $0.l7?.type == .request }
        XCTAssertEqual(requests.filter { $0.verdict == .dropped }.map { $0.http?.url }, ["http://backend/other"])
        XCTAssertEqual(requests.filter { $0.verdict == .forwarded }.count, 2)
        let responses = flows.filter { $0.l7?.type == .response }
        XCTAssertEqual(responses.map { $0.http?.code ?? 0 }.sorted(), [200, 200, 403])
        XCTAssertTrue(responses.allSatisfy { $0.isReply == true && $0.verdict == .forwarded })
        XCTAssertTrue(responses.filter { $0.http?.code == 200 }.allSatisfy { ($0.l7?.latencyNs ?? 0) > 0 })
    }

    func testHeaderListOverTheLimitGets431AndAnErrorFlow() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let big = String(repeating: "v", count: 15500)
        let id = try c.session.submitRequest(
            HTTP2Peer.request(
                "GET", "/allowed/big-headers",
                (0..<4).map { ("x-big-\($0)", big) }), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "431")
        let ok = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/after"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(ok) })
        XCTAssertEqual(c.headers(ok).first?.text(of: ":status"), "200", "the connection goes on; \(upstreamReport)")
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.first?.verdict, .error)
        XCTAssertEqual(flows.dropFirst().first?.http?.code, 431)
        XCTAssertEqual(upstream.connections.count, 1, upstreamReport)
    }

    func testDeniedHEADGets403WithoutBody() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("HEAD", "/allowed/x"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "403")
        XCTAssertEqual(c.headers(id).first?.text(of: "content-length"), "15")
        XCTAssertTrue(c.body(id).isEmpty)
        XCTAssertTrue(c.events.contains(.closed(stream: id, errorCode: 0)), "closed cleanly: \(c.events)")
    }

    func testDeniedGRPCGetsTrailersOnlyPermissionDenied() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(
            HTTP2Peer.request(
                "POST", "/pkg.Svc/Denied",
                [("content-type", "application/grpc+proto")]), hasBody: true)
        c.session.append(stream: id, [0, 0, 0, 0, 0])
        c.session.end(stream: id)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        let blocks = c.headers(id)
        XCTAssertEqual(blocks.count, 1, "trailers-only")
        XCTAssertEqual(blocks.first?.text(of: ":status"), "200")
        XCTAssertEqual(blocks.first?.text(of: "content-type"), "application/grpc")
        XCTAssertEqual(blocks.first?.text(of: "grpc-status"), "7")
        XCTAssertEqual(blocks.first?.text(of: "grpc-message"), "Access denied%0D%0A")
        XCTAssertTrue(
            c.events.contains {
                if case .headers(id, _, _, true) = $0 { return true }; return false
            })
        XCTAssertTrue(c.body(id).isEmpty)
    }
}
