import Flows
import Foundation
import Policy
import XCTest

@testable import Proxy

/// The proxy's own answers (HTTP1Connection+LocalReply): Envoy's 403, and how a connection ends
/// after a reply that closes it (at once, after draining, or after the lingering close's 2 s).
/// Real event loop, real loopback sockets, as HTTP1ConnectionTests.
final class HTTP1ConnectionLocalReplyTests: ProxyTestCase {
    func testDeniedPOSTGetsEnvoys403AndNeverReachesUpstream() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("POST /allowed HTTP/1.1\r\nhost: backend\r\ncontent-length: 3\r\n\r\nabc")
        let response = c.readMessage()
        XCTAssertEqual(withoutDate(response), localReply("403 Forbidden", body: Self.accessDenied))
        // The connection stays usable (keep-alive) and the body was skipped, not taken as a request.
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 21\r\n\r\nGET /allowed HTTP/1.1")
        XCTAssertEqual(upstream.received(), "GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
    }

    func testACompleteCloseRequestIsClosedAtOnceWithoutLingering() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readToEnd(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 21\r\nconnection: close\r\n\r\nGET /allowed HTTP/1.1")
        XCTAssertEqual(c.end, .eof)
        // Everything the client sent was read, so the proxy closed (FIN after the answer) instead
        // of half-closing and waiting for the client's FIN: the connection is gone although this
        // client has not closed its side.
        XCTAssertTrue(
            eventually { self.proxy.onLoop { self.proxy.ctx.connectionCount } == 0 },
            "the connection is closed without waiting for the client")
    }

    func testBytesAfterACloseRequestAreDrainedSoTheAnswerIsNotReset() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        // A second request after `connection: close` is never answered; the proxy must still
        // deliver the first answer whole and end with a FIN, not an RST that could destroy it.
        c.send(
            "GET /allowed HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n"
                + "GET /ignored HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readToEnd(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 21\r\nconnection: close\r\n\r\nGET /allowed HTTP/1.1")
        XCTAssertEqual(c.end, .eof, "the answer ends with the proxy's FIN (half-close), not a reset")
        let (now, deadline) = proxy.timers()
        XCTAssertEqual(deadline, now + 2_000_000_000, "lingering for the client's FIN, at most 2 s")
        XCTAssertEqual(proxy.onLoop { self.proxy.ctx.connectionCount }, 1, "lingering: waiting for the client's FIN")
        c.shutdownWrite()
        XCTAssertTrue(
            eventually { self.proxy.onLoop { self.proxy.ctx.connectionCount } == 0 },
            "the client's FIN ends the lingering close")
        XCTAssertEqual(upstream.received(), "GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
    }

    func testALingeringCloseEndsAfterTwoSecondsWithoutTheClientsFIN() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send(
            "GET /allowed HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n"
                + "GET /ignored HTTP/1.1\r\nhost: backend\r\n\r\n")
        _ = c.readToEnd()
        XCTAssertEqual(c.end, .eof)
        proxy.advance(by: 2_000_000_000 - 1)
        XCTAssertEqual(proxy.onLoop { self.proxy.ctx.connectionCount }, 1, "still lingering 1 ns before the limit")
        proxy.advance(by: 1)
        XCTAssertEqual(proxy.onLoop { self.proxy.ctx.connectionCount }, 0, "closed at the limit")
    }

    func testDeniedRequestWithExpectContinueGets403AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("PUT /allowed HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("403 Forbidden", body: Self.accessDenied, close: true))
        XCTAssertEqual(c.end, .eof)
        XCTAssertEqual(upstream.connections.count, 0)
    }
}
