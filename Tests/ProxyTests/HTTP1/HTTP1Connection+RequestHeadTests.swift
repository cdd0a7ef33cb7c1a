import Flows
import Foundation
import HTTP1
import XCTest

@testable import Proxy

/// Ambiguous requests through `HTTP1Connection`: the policy decides on exactly what is forwarded.
/// Each test sends bytes and checks the answer, what the upstream received and the flow records.
/// Rules: GET /allowed.*, POST /allowed/post.* (ProxyTestCase.defaultRules).
final class HTTP1ConnectionRequestHeadTests: ProxyTestCase {
    private func urls(_ flows: [Flow]) -> [String] { flows.map { $0.http?.url ?? "" } }

    // MARK: paths

    func testDotSegmentsAreRemovedBeforeMatching() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        for target in ["/allowed/../secret", "/allowed/%2e%2e/secret", "/allowed/.%2E/secret", "/allowed\\..\\secret"] {
            c.send("GET \(target) HTTP/1.1\r\nhost: backend\r\n\r\n")
            XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied), target)
        }
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(8)
        XCTAssertEqual(
            flows.map(\.verdict),
            [
                .dropped, .forwarded, .dropped, .forwarded, .dropped, .forwarded,
                .dropped, .forwarded,
            ])
        XCTAssertEqual(urls(flows).first, "http://backend/secret")
    }

    func testTheForwardedPathIsTheMatchedPath() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET //allowed/./x/../%79?q=/../%2F HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 33\r\n\r\nGET /allowed/y?q=/../%2F HTTP/1.1")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(urls(flows), ["http://backend/allowed/y?q=/../%2F", "http://backend/allowed/y?q=/../%2F"])
        // A canonical request is forwarded byte for byte on the same connection.
        c.send("GET /allowed/z HTTP/1.1\r\nhost: backend\r\nx-a: 1\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/z HTTP/1.1")
    }

    func testEncodedSlashIsRedirectedNeverForwarded() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed%2F..%2fsecret?x=%2F HTTP/1.1\r\nhost: backend\r\n\r\n")
        let answer = withoutDate(c.readMessage())
        XCTAssertEqual(
            answer,
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: /secret?x=%2F\r\ncontent-length: 0\r\n"
                + "date: DATE\r\nserver: envoy\r\n\r\n")
        // Keep-alive: the next request on the connection is served.
        c.send("GET /allowed/%5Cx HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertTrue(withoutDate(c.readMessage()).contains("location: /allowed/x\r\n"))
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.map(\.verdict), [.dropped, .forwarded, .dropped, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 307, 0, 307])
    }

    func testFragmentAndBadEscapeAre400AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        for target in ["/allowed#x", "/allowed/%zz"] {
            let c = try client()
            c.send("GET \(target) HTTP/1.1\r\nhost: backend\r\n\r\n")
            XCTAssertEqual(withoutDate(c.readToEnd()), localReply("400 Bad Request", body: "Bad Request", close: true))
            XCTAssertEqual(c.end, .eof)
        }
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.map(\.verdict), [.error, .forwarded, .error, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 400, 0, 400])
    }

    // MARK: Host

    func testInvalidHostIs400AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        for host in ["a@b", "backend#x", "user:pw@backend", "back end", "backend:99999x", "backend/x"] {
            let c = try client()
            c.send("GET /allowed HTTP/1.1\r\nhost: \(host)\r\n\r\n")
            XCTAssertEqual(
                withoutDate(c.readToEnd()), localReply("400 Bad Request", body: "Bad Request", close: true),
                host)
        }
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(12)
        XCTAssertEqual(Array(flows.map { $0.http?.code }.prefix(2)), [0, 400])
        XCTAssertEqual(flows.first?.verdict, .error)
    }

    func testAbsoluteFormIsMatchedAndForwardedWithItsAuthorityAsHost() throws {
        try start(UpstreamServer.echoRequestLine, rules: ["{method: GET, path: \"/allowed.*\", host: \"backend\"}"])
        let c = try client()
        // The target's authority wins over Host (RFC 9112 3.2.2): the rule and the upstream both
        // see `backend`.
        c.send("GET http://backend/allowed/./a HTTP/1.1\r\nhost: elsewhere\r\nx-a: 1\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 37\r\n\r\nGET http://backend/allowed/a HTTP/1.1")
        XCTAssertTrue(
            upstream.received().hasSuffix("GET http://backend/allowed/a HTTP/1.1\r\nhost: backend\r\nx-a: 1\r\n\r\n"))
        c.send("GET http://elsewhere/allowed/a HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        c.send("GET http://backend/allowed/../secret HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        let flows = proxy.sink.waitForFlows(6)
        XCTAssertEqual(
            urls(flows),
            [
                "http://backend/allowed/a", "http://backend/allowed/a",
                "http://elsewhere/allowed/a", "http://elsewhere/allowed/a",
                "http://backend/secret", "http://backend/secret",
            ])

        let userinfo = try client()
        userinfo.send("GET http://a@backend/allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            withoutDate(userinfo.readToEnd()),
            localReply("400 Bad Request", body: "Bad Request", close: true))
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testAbsoluteFormWithoutHostInHTTP10GetsAHostLine() throws {
        try start(UpstreamServer.answering(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]))
        let c = try client()
        c.send("GET http://backend:80/allowed HTTP/1.0\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readToEnd(), as: UTF8.self), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(upstream.received(), "GET http://backend:80/allowed HTTP/1.0\r\nhost: backend:80\r\n\r\n")
    }

    // MARK: Content-Length

    func testIdenticalContentLengthsAreForwardedAsOne() throws {
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        try start(UpstreamServer.answering([ok, ok], closeAfter: false))
        for lengths in ["content-length: 3\r\nContent-Length: 3\r\n", "content-length: 3, 3\r\n"] {
            let c = try client()
            c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\n\(lengths)x-b: 2\r\n\r\nabc")
            XCTAssertEqual(
                String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        }
        let expected = "POST /allowed/post HTTP/1.1\r\nhost: backend\r\ncontent-length: 3\r\nx-b: 2\r\n\r\nabc"
        // The second client reuses the pooled upstream connection.
        XCTAssertEqual(upstream.received(0) + upstream.received(1), expected + expected)
    }

    func testDifferentOrHugeContentLengthsAre400() throws {
        try start(UpstreamServer.echoRequestLine)
        for lengths in [
            "content-length: 3\r\ncontent-length: 4", "content-length: 3, 4",
            "content-length: 9223372036854775807", "content-length: 92233720368547758070",
        ] {
            let c = try client()
            c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\n\(lengths)\r\n\r\nabc")
            XCTAssertEqual(
                withoutDate(c.readToEnd()), localReply("400 Bad Request", body: "Bad Request", close: true),
                lengths)
        }
        XCTAssertEqual(upstream.connections.count, 0)
    }

    // MARK: header names with underscores

    func testUnderscoreHeaderIsRejectedByDefault() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\nx_role: admin\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("400 Bad Request", body: "Bad Request", close: true))
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.error, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 400])
        XCTAssertEqual(flows.first?.http?.url, "http://backend/allowed")
    }

    func testUnderscoreHeaderDroppedOrAllowedWhenConfigured() throws {
        var config = ProxyConfig(workers: 1)
        config.headersWithUnderscores = .dropHeader
        try start(
            UpstreamServer.answering(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"], closeAfter: false),
            config: config)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\nx_role: admin\r\nx-role: user\r\n\r\n")
        XCTAssertEqual(String(decoding: c.readMessage(), as: UTF8.self), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(upstream.received(), "GET /allowed HTTP/1.1\r\nhost: backend\r\nx-role: user\r\n\r\n")
        proxy.stop()
        upstream.stop()

        config.headersWithUnderscores = .allow
        try start(
            UpstreamServer.answering(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"], closeAfter: false),
            config: config)
        let d = try client()
        let request = "GET /allowed HTTP/1.1\r\nhost: backend\r\nx_role:  admin\r\n\r\n"
        d.send(request)
        XCTAssertEqual(String(decoding: d.readMessage(), as: UTF8.self), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(upstream.received(), request)
    }

    /// With drop-header the rule never sees the dropped field either.
    func testDroppedUnderscoreHeaderIsNotMatched() throws {
        var config = ProxyConfig(workers: 1)
        config.headersWithUnderscores = .dropHeader
        try start(
            UpstreamServer.echoRequestLine, rules: ["{method: GET, path: \"/.*\", headers: [\"x_admin: yes\"]}"],
            config: config)
        let c = try client()
        c.send("GET /x HTTP/1.1\r\nhost: backend\r\nx_admin: yes\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
    }

    // MARK: limits

    func testLongTargetIs414AndTooManyFieldsIs431() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed/" + String(repeating: "a", count: 9 * 1024) + " HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("414 URI Too Long", body: "Bad Request", close: true))
        let d = try client()
        var head = "GET /allowed HTTP/1.1\r\nhost: backend\r\n"
        for i in 0..<100 { head += "x-\(i): v\r\n" }
        d.send(head + "\r\n")
        XCTAssertEqual(
            withoutDate(d.readToEnd()),
            localReply("431 Request Header Fields Too Large", body: "Bad Request", close: true))
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 414, 0, 431])
        XCTAssertEqual(upstream.connections.count, 0)
    }

    /// A head trickled in many small writes is parsed once it is complete and forwarded intact.
    func testTrickledHeadIsForwarded() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        var head = "GET /allowed/t HTTP/1.1\r\nhost: backend\r\n"
        for i in 0..<40 { head += "x-\(i): \(String(repeating: "v", count: 100))\r\n" }
        let bytes = Array((head + "\r\n").utf8)
        var i = 0
        while i < bytes.count {
            c.send(Array(bytes[i..<min(i + 97, bytes.count)]))
            i += 97
        }
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 23\r\n\r\nGET /allowed/t HTTP/1.1")
    }

    // MARK: every split

    /// A rewritten request (path, repeated Content-Length) split at every byte offset into two
    /// writes on one keep-alive connection: the upstream receives the same rewritten bytes each time.
    func testRewrittenRequestForEverySplit() throws {
        let request = Array(
            "POST /allowed/post/./x/../y HTTP/1.1\r\nhost: backend\r\ncontent-length: 2, 2\r\n\r\nhi".utf8)
        let expected = Array("POST /allowed/post/y HTTP/1.1\r\nhost: backend\r\ncontent-length: 2\r\n\r\nhi".utf8)
        let splits = Array(1..<request.count)
        try start { socket in
            for _ in splits {
                let got = socket.read(exactly: expected.count)
                if got.count < expected.count { return }
                socket.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            }
            _ = socket.readToEnd()
        }
        let c = try client()
        for split in splits {
            c.send(Array(request[..<split]))
            usleep(300)
            c.send(Array(request[split...]))
            let answer = String(decoding: c.readMessage(), as: UTF8.self)
            XCTAssertEqual(answer, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", "split at \(split)")
            if answer.isEmpty { break }
        }
        let received = Array(upstream.connections.first?.received ?? [])
        XCTAssertEqual(received, Array([[UInt8]](repeating: expected, count: splits.count).joined()))
    }

    /// Rejected requests split at every byte offset get the same answer each time.
    func testRejectedRequestsForEverySplit() throws {
        try start(UpstreamServer.echoRequestLine)
        let cases: [(String, String)] = [
            (
                "GET /allowed HTTP/1.1\r\nhost: a@b\r\n\r\n",
                localReply("400 Bad Request", body: "Bad Request", close: true)
            ),
            (
                "GET /allowed HTTP/1.1\r\nhost: b\r\nx_y: 1\r\n\r\n",
                localReply("400 Bad Request", body: "Bad Request", close: true)
            ),
            (
                "GET /allowed/../x HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n",
                localReply("403 Forbidden", body: Self.accessDenied, close: true)
            ),
            (
                "GET /allowed%2fx HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n",
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: /allowed/x\r\ncontent-length: 0\r\ndate: DATE\r\n"
                    + "server: envoy\r\nconnection: close\r\n\r\n"
            ),
            (
                "GET /allowed HTTP/1.1\r\nhost: b\r\ncontent-length: 1, 2\r\n\r\nab",
                localReply("400 Bad Request", body: "Bad Request", close: true)
            ),
        ]
        for (text, expected) in cases {
            let bytes = Array(text.utf8)
            for split in 1..<bytes.count {
                let c = try client()
                c.send(Array(bytes[..<split]))
                usleep(200)
                c.send(Array(bytes[split...]))
                XCTAssertEqual(withoutDate(c.readToEnd()), expected, "\(text) split at \(split)")
            }
        }
        XCTAssertEqual(upstream.connections.count, 0)
    }
}
