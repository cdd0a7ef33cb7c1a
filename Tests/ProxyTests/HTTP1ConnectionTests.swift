import Flows
import Foundation
import Policy
import XCTest

@testable import Proxy

/// `HTTP1Connection` driven through the real event loop with real loopback sockets: relaying,
/// the 403 answer, keep-alive and pipelining, response framings, HEAD, upgrades.
final class HTTP1ConnectionTests: ProxyTestCase {
    func testAllowedGETIsRelayedByteExactBothWays() throws {
        let answer = "HTTP/1.1 200 OK\r\nX-Custom:  spaced \r\ncontent-length: 5\r\nSet-Cookie: a=b\r\n\r\nhello"
        try start(UpstreamServer.answering([answer], closeAfter: false))
        let request =
            "GET /allowed/x?y=1 HTTP/1.1\r\nHost: backend\r\nUser-Agent: test/1\r\nX-Mixed-Case: VaLuE\r\n\r\n"
        let c = try client()
        c.send(request)
        XCTAssertEqual(String(decoding: c.readMessage(), as: UTF8.self), answer)
        XCTAssertEqual(upstream.received(), request)
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testDeniedFirstRequestOpensNoUpstreamConnection() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("DELETE /allowed HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("403 Forbidden", body: Self.accessDenied, close: true))
        XCTAssertEqual(c.end, .eof)
        XCTAssertEqual(upstream.connectionsSoFar(), 0)
    }

    func testKeepAliveAllowedDeniedAllowedOnOneConnection() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed/1 HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/1 HTTP/1.1")
        c.send("GET /denied HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        c.send("GET /allowed/3 HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/3 HTTP/1.1")
        XCTAssertEqual(
            upstream.received(),
            "GET /allowed/1 HTTP/1.1\r\nhost: backend\r\n\r\n"
                + "GET /allowed/3 HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(upstream.connections.count, 1, "the upstream connection is reused")
    }

    func testClientConnectionCloseIsNotForwardedAndTheUpstreamIsReused() throws {
        try start(UpstreamServer.echoRequestLine)
        for i in 1...2 {
            let c = try client()
            c.send("GET /allowed/\(i) HTTP/1.1\r\nhost: backend\r\nConnection: close\r\nx-after: 1\r\n\r\n")
            XCTAssertEqual(
                String(decoding: c.readToEnd(), as: UTF8.self),
                "HTTP/1.1 200 OK\r\ncontent-length: 23\r\nconnection: close\r\n\r\nGET /allowed/\(i) HTTP/1.1",
                "the answer says the connection closes (RFC 9112 9.6), since the upstream's did not")
            XCTAssertEqual(c.end, .eof, "the client's connection is closed after the answer")
        }
        // Connection is hop-by-hop (RFC 9110 7.6.1): the upstream sees neither close, and its one
        // connection serves both clients from the worker's pool.
        XCTAssertEqual(
            upstream.received(),
            "GET /allowed/1 HTTP/1.1\r\nhost: backend\r\nx-after: 1\r\n\r\n"
                + "GET /allowed/2 HTTP/1.1\r\nhost: backend\r\nx-after: 1\r\n\r\n")
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testPipelinedRequestsInOneWriteAreAnsweredInOrder() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send(
            "GET /allowed/1 HTTP/1.1\r\nhost: backend\r\n\r\n"
                + "GET /denied HTTP/1.1\r\nhost: backend\r\n\r\n"
                + "POST /allowed/no HTTP/1.1\r\nhost: backend\r\ncontent-length: 4\r\n\r\nbody"
                + "GET /allowed/4 HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/1 HTTP/1.1")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/4 HTTP/1.1")
        XCTAssertEqual(
            upstream.received(),
            "GET /allowed/1 HTTP/1.1\r\nhost: backend\r\n\r\n"
                + "GET /allowed/4 HTTP/1.1\r\nhost: backend\r\n\r\n")
    }

    func testExpect100ContinueIsAnsweredByTheProxyBeforeTheBodyIsSent() throws {
        try start { socket in
            let request = socket.readMessage()
            if request.isEmpty { return }
            socket.send("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
            _ = socket.readToEnd()
        }
        let c = try client()
        // The client holds its body back until it sees 100 Continue (as curl does for 1 s).
        c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 100 Continue\r\n\r\n")
        c.send("hello")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(
            upstream.received(),
            "POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\nhello")
    }

    func testUpgrade101SwitchesToATunnel() throws {
        try start { socket in
            _ = socket.readMessage()
            socket.send("HTTP/1.1 101 Switching Protocols\r\nupgrade: test\r\nconnection: upgrade\r\n\r\n")
            let ping = socket.read(exactly: 4)
            socket.send(Array("pong:".utf8) + ping)
            _ = socket.readToEnd()
        }
        let c = try client()
        c.send("GET /allowed/ws HTTP/1.1\r\nhost: backend\r\nupgrade: test\r\nconnection: upgrade\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: test\r\nconnection: upgrade\r\n\r\n")
        c.send([0x00, 0xFF, 0x0D, 0x0A])
        XCTAssertEqual(c.read(exactly: 9), Array("pong:".utf8) + [0x00, 0xFF, 0x0D, 0x0A])
    }
}
