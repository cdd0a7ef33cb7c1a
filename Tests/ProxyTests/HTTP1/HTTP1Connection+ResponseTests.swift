import Flows
import Foundation
import Policy
import XCTest

@testable import Proxy

/// The upstream's answer (HTTP1Connection+Response): each response framing relayed exactly, HEAD,
/// interim answers, and an idle upstream the server closed. Real event loop, real loopback sockets.
final class HTTP1ConnectionResponseTests: ProxyTestCase {
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
}
