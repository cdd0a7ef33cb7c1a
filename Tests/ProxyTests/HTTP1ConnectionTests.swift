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

    func testAParkedUpstreamTheServerClosesIsDroppedNotReused() throws {
        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        try start(UpstreamServer.answering([answer], closeAfter: true))
        for i in 1...2 {
            let c = try client()
            c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n")
            XCTAssertEqual(
                String(decoding: c.readToEnd(), as: UTF8.self),
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            // The server has sent its FIN (its script returned after shutdown): on loopback it is
            // in the parked socket now, which `take` must notice.
            XCTAssertTrue(eventually { self.upstream.finishedScripts == i })
        }
        XCTAssertEqual(upstream.connections.count, 2, "the closed idle connection was not handed out again")
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

    func testChunkedResponseIsRelayedExactlyAndConnectionIsReused() throws {
        let chunked =
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n"
            + "0\r\ntrailer-a: 1\r\n\r\n"
        let second = "HTTP/1.1 204 No Content\r\n\r\n"
        try start(UpstreamServer.answering([chunked, second], closeAfter: false))
        let c = try client()
        c.send("GET /allowed/a HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(String(decoding: c.read(exactly: chunked.utf8.count), as: UTF8.self), chunked)
        c.send("GET /allowed/b HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readMessage(), as: UTF8.self), second)
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testUntilCloseResponseIsRelayedExactly() throws {
        let body = String(repeating: "z", count: 100_000)
        try start { socket in
            _ = socket.readMessage()
            socket.send("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n" + body)
            socket.shutdownWrite()
        }
        let c = try client()
        c.send("GET /allowed/1 HTTP/1.1\r\nhost: backend\r\n\r\n")
        let expected = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n" + body
        XCTAssertEqual(String(decoding: c.read(exactly: expected.utf8.count), as: UTF8.self), expected)
        XCTAssertEqual(c.readToEnd(), [], "the body's end is the connection's end, for the client too")
        XCTAssertNotEqual(c.end, .timeout)
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 200])
    }

    func testHEADResponseHasNoBodyAndConnectionContinues() throws {
        let headAnswer = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"
        let getAnswer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        try start(
            UpstreamServer.answering([headAnswer, getAnswer], closeAfter: false),
            rules: ["{method: \"GET|HEAD\", path: \"/allowed.*\"}"])
        let c = try client()
        c.send("HEAD /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readMessage(bodiless: true), as: UTF8.self), headAnswer)
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readMessage(), as: UTF8.self), getAnswer)
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

    func testDeniedRequestWithExpectContinueGets403AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("PUT /allowed HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("403 Forbidden", body: Self.accessDenied, close: true))
        XCTAssertEqual(c.end, .eof)
        XCTAssertEqual(upstream.connections.count, 0)
    }

    func testInterimResponsesAreRelayedOnceBeforeTheFinalAnswer() throws {
        try start { socket in
            _ = socket.readMessage()
            socket.send(
                "HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
            _ = socket.readToEnd()
        }
        let c = try client()
        c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\n\r\nhello")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
        let codes = proxy.sink.waitForFlows(2).compactMap { $0.http?.code }
        XCTAssertEqual(codes, [0, 201], "no response flow for the interim answer")
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
