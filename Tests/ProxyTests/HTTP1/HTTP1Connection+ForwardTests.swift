import Foundation
import XCTest

@testable import Proxy

/// Request and response bodies through `HTTP1Connection`: chunked request bodies arriving in any
/// two pieces, and bodies far larger than the connection's buffers.
final class HTTP1ConnectionForwardTests: ProxyTestCase {
    static let chunkedRequest =
        "POST /allowed/post HTTP/1.1\r\nhost: backend\r\ntransfer-encoding: chunked\r\n\r\n"
        + "5;name=value\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: t\r\n\r\n"

    /// Every split of the whole message (head and body) into two writes, on one keep-alive
    /// connection: the upstream receives exactly the bytes sent, each time.
    func testChunkedRequestBodyIsRelayedExactlyForEverySplit() throws {
        let request = Array(Self.chunkedRequest.utf8)
        let splits = Array(1..<request.count)
        try start { socket in
            for _ in splits {
                let got = socket.read(exactly: request.count)
                if got.count < request.count { return }
                socket.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            }
            _ = socket.readToEnd()
        }
        let c = try client()
        for split in splits {
            c.send(Array(request[..<split]))
            proxy.drain()  // the proxy has read the first piece alone: two reads, split here
            c.send(Array(request[split...]))
            let answer = String(decoding: c.readMessage(), as: UTF8.self)
            XCTAssertEqual(answer, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", "split at \(split)")
            if answer.isEmpty { break }
        }
        let received = Array(upstream.connections.first?.received ?? [])
        XCTAssertEqual(received.count, request.count * splits.count)
        XCTAssertEqual(received, Array([[UInt8]](repeating: request, count: splits.count).joined()))
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testMalformedChunkedBodyAfterForwardingClosesBothSides() throws {
        try start { socket in _ = socket.readToEnd() }
        let c = try client()
        c.send("POST /allowed/post HTTP/1.1\r\nhost: backend\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
        XCTAssertEqual(c.readToEnd(), [])
        XCTAssertNotEqual(c.end, .timeout)
        XCTAssertTrue(eventually { self.upstream.finishedScripts == 1 }, "the upstream side was closed too")
        let received = upstream.received()
        XCTAssertFalse(received.contains("zz"), "the malformed chunk is not relayed: \(received)")
    }

    func testEightMegabyteRequestAndResponseBodiesAreStreamed() throws {
        let size = 8 << 20
        let pattern = (0..<65_521).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }  // prime period
        var body: [UInt8] = []
        body.reserveCapacity(size)
        while body.count < size { body += pattern.prefix(size - body.count) }
        let head = Array("POST /allowed/post/big HTTP/1.1\r\nhost: backend\r\ncontent-length: \(size)\r\n\r\n".utf8)
        let responseHead = Array("HTTP/1.1 200 OK\r\ncontent-length: \(size)\r\n\r\n".utf8)
        let payload = body
        try start { socket in
            let got = socket.read(exactly: head.count + size)
            if got.count < head.count + size { return }
            socket.send(responseHead + payload.reversed())
            _ = socket.readToEnd()
        }
        let c = try client()
        let writer = Thread { c.send(head + payload) }
        writer.start()
        let response = c.read(exactly: responseHead.count + size)
        XCTAssertEqual(response.count, responseHead.count + size)
        XCTAssertTrue(
            sameBytes(response, responseHead + payload.reversed()), "the client got the response byte for byte")
        let received = upstream.connections.first?.received ?? []
        XCTAssertEqual(received.count, head.count + size)
        XCTAssertTrue(sameBytes(received, head + payload), "the upstream got the request byte for byte")
    }

    func testLargeChunkedResponseIsRelayedExactly() throws {
        var response = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        for i in 0..<64 {
            let chunk = String(repeating: Character(UnicodeScalar(UInt8(65 + i % 26))), count: 40_000 + i)
            response += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
        }
        response += "0\r\n\r\n"
        let expected = response
        try start(UpstreamServer.answering([expected], closeAfter: false))
        let c = try client()
        c.send("GET /allowed/big HTTP/1.1\r\nhost: backend\r\n\r\n")
        let got = c.read(exactly: expected.utf8.count)
        XCTAssertEqual(got.count, expected.utf8.count)
        XCTAssertTrue(sameBytes(got, Array(expected.utf8)))
    }

    /// memcmp equality (element-wise comparison of megabytes is slow in debug builds).
    private func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                guard let p = x.baseAddress, let q = y.baseAddress else { return true }
                return memcmp(p, q, x.count) == 0
            }
        }
    }
}
