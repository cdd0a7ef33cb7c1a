import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// HTTP2Connection end to end over loopback: a client HTTP2Session, the proxy worker (reached
/// through the HTTP/1 entry, so detection is exercised) and an h2c upstream script.
final class HTTP2ConnectionTests: ProxyTestCase {
    private func h2client() throws -> HTTP2Peer {
        let c = try client()
        return try HTTP2Peer(socket: c, role: .client)
    }

    private func status(_ peer: HTTP2Peer, _ id: Int32) -> String? {
        peer.headers(id).first?.text(of: ":status")
    }

    func testAllowedAndDeniedStreamsOnOneConnection() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let a = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/one"), hasBody: false)
        let d = try c.session.submitRequest(HTTP2Peer.request("GET", "/other"), hasBody: false)
        let b = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/two"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(a) && c.isClosed(d) && c.isClosed(b) })
        XCTAssertEqual(status(c, a), "200")
        XCTAssertEqual(String(decoding: c.body(a), as: UTF8.self), "ok GET /allowed/one 0")
        XCTAssertEqual(status(c, b), "200")
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
        XCTAssertEqual(c.headers(ok).first?.text(of: ":status"), "200", "the connection goes on")
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.first?.verdict, .error)
        XCTAssertEqual(flows.dropFirst().first?.http?.code, 431)
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testRefusedStreamIsReplayed() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/refuse-once"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: c.body(id), as: UTF8.self), "ok GET /allowed/refuse-once 0")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response], "one request, one response flow")
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

    func testAllowedGRPCRelaysTrailers() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(
            HTTP2Peer.request(
                "POST", "/allowed/post/grpc",
                [("content-type", "application/grpc")]), hasBody: true)
        c.session.append(stream: id, [0, 0, 0, 0, 0])
        c.session.end(stream: id)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        let blocks = c.headers(id)
        XCTAssertEqual(blocks.count, 2)
        XCTAssertEqual(blocks.last?.text(of: "grpc-status"), "0")
        XCTAssertEqual(c.body(id), [0, 0, 0, 0, 0])
    }

    func testLargeBodiesBothWays() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let up = try c.session.submitRequest(HTTP2Peer.request("POST", "/allowed/post"), hasBody: true)
        c.session.append(stream: up, [UInt8](repeating: 0x61, count: 3 << 20))
        c.session.end(stream: up)
        let down = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(up) && c.isClosed(down) })
        XCTAssertEqual(String(decoding: c.body(up), as: UTF8.self), "ok POST /allowed/post \(3 << 20)")
        XCTAssertEqual(c.body(down).count, 1 << 20)
    }

    func testPriorKnowledgePrefaceSplitAcrossReads() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try client()
        c.send(Array("PRI * HTTP/2.0\r\n".utf8))
        proxy.drain()  // the proxy has read these 16 bytes alone before the rest is sent
        let peer = try HTTP2Peer(socket: c, role: .client)
        // The session's preface repeats the first 16 bytes; send only what follows them.
        var bytes: [UInt8] = []
        let id = try peer.session.submitRequest(HTTP2Peer.request("GET", "/allowed/split"), hasBody: false)
        while let chunk = try peer.session.produce() { bytes += chunk }
        c.send(Array(bytes[16...]))
        XCTAssertTrue(peer.pump { _ in peer.isClosed(id) })
        XCTAssertEqual(String(decoding: peer.body(id), as: UTF8.self), "ok GET /allowed/split 0")
    }

    func testH2CUpgrade() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try client()
        c.send(
            "POST /allowed/post HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\ncontent-length: 5\r\n\r\nhello")
        let peer = try HTTP2Peer(socket: c, role: .client)
        let head = peer.readHTTP1Head()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), head)
        try peer.session.upgrade(
            settings: HTTP2Upgrade.base64url(UnsafeRawBufferPointer(start: nil, count: 0)) ?? [],
            headRequest: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(1) })
        XCTAssertEqual(peer.headers(1).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: peer.body(1), as: UTF8.self), "ok POST /allowed/post 5")
        let id = try peer.session.submitRequest(HTTP2Peer.request("DELETE", "/allowed/post"), hasBody: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(id) })
        XCTAssertEqual(peer.headers(id).first?.text(of: ":status"), "403")
    }

    /// An upgraded request's HTTP/1 body is not flow-controlled: it is read only as fast as the
    /// upstream takes it, and arrives whole.
    func testH2CUpgradeWithLargeBody() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try client()
        let size = 2 << 20
        c.send(
            "POST /allowed/post HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: \r\ncontent-length: \(size)\r\n\r\n")
        c.send([UInt8](repeating: 0x7A, count: size))
        let peer = try HTTP2Peer(socket: c, role: .client)
        XCTAssertTrue(peer.readHTTP1Head().hasPrefix("HTTP/1.1 101 "))
        try peer.session.upgrade(settings: [], headRequest: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(1) })
        XCTAssertEqual(String(decoding: peer.body(1), as: UTF8.self), "ok POST /allowed/post \(size)")
    }

    func testRapidResetClosesTheOffenderOnly() throws {
        try start(HTTP2Peer.upstreamScript)
        let good = try h2client()
        let bad = try h2client()
        for _ in 0..<700 {
            guard let id = try? bad.session.submitRequest(HTTP2Peer.request("GET", "/allowed/reset"), hasBody: false)
            else { break }
            bad.flush()
            bad.session.reset(stream: id, errorCode: 8)
            bad.flush()
        }
        bad.pump { _ in bad.goaway != nil }
        XCTAssertEqual(bad.goaway, HTTP2Connection.enhanceYourCalm)
        bad.pump { _ in false }
        XCTAssertTrue(bad.closed, "offender's connection closed by the proxy, not silent: \(bad.end)")
        let id = try good.session.submitRequest(HTTP2Peer.request("GET", "/allowed/still"), hasBody: false)
        XCTAssertTrue(good.pump { _ in good.isClosed(id) })
        XCTAssertEqual(String(decoding: good.body(id), as: UTF8.self), "ok GET /allowed/still 0")
    }

    /// Streams reset by the client while their response is still queued must give the
    /// upstream connection its credit back, or later streams on it would stall.
    func testClientResetsDoNotLeakUpstreamCredit() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        for _ in 0..<6 {
            let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
            XCTAssertTrue(c.pump { _ in !c.body(id).isEmpty })
            c.session.reset(stream: id, errorCode: 8)
            c.flush()
        }
        let last = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(last) })
        XCTAssertEqual(c.body(last).count, 1 << 20)
        XCTAssertEqual(upstream.connections.count, 1)
    }

    func testRefusedUpstreamGets503PerStream() throws {
        try start(HTTP2Peer.upstreamScript)
        let raw = try proxy.connect(upstreamPort: Loopback.closedPort())
        let c = try HTTP2Peer(socket: raw, role: .client)
        let a = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/a"), hasBody: false)
        let g = try c.session.submitRequest(
            HTTP2Peer.request("GET", "/allowed/g", [("content-type", "application/grpc")]),
            hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(a) && c.isClosed(g) })
        XCTAssertEqual(c.headers(a).first?.text(of: ":status"), "503")
        XCTAssertEqual(String(decoding: c.body(a), as: UTF8.self), Self.connectFailure)
        XCTAssertEqual(c.headers(g).first?.text(of: "grpc-status"), "14")
        // The connection itself stays usable: the next stream tries a new upstream connection.
        // (The closed port carries no HTTP rules, so every path is allowed there.)
        let d = try c.session.submitRequest(HTTP2Peer.request("GET", "/other"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(d) })
        XCTAssertEqual(c.headers(d).first?.text(of: ":status"), "503")
        // Each 503's response flow names the refused connect: upstream, ECONNREFUSED.
        let responses = proxy.sink.waitForFlows(6).filter { $0.l7?.type == .response }
        XCTAssertEqual(
            responses.compactMap { $0.http?.code }.sorted(), [200, 503, 503], "gRPC's is a 200 with grpc-status 14")
        XCTAssertEqual(
            responses.map { $0.http?.connectionError }, Array(repeating: .init(side: .upstream, errno: 111), count: 3))
    }

    // MARK: connection failures reach the stream's flow record

    /// An upstream that takes the connection and ends it before answering: the stream gets 503
    /// and its response flow names the upstream's end (side and errno).
    func testUpstreamEndingBeforeAnsweringGives503WithTheFailureInTheRecord() throws {
        try start { socket in
            _ = socket.read(exactly: HTTP2Preface.bytes.count)
            _ = Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
        }
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/gone"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "503")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response])
        XCTAssertEqual(flows.last?.http?.code, 503)
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
    }

    /// A client that leaves while its stream waits for the upstream: the stream's record gets an
    /// ERROR response flow naming the client's side, with no status (none had begun).
    func testClientLeavingMidStreamWritesTheFailureIntoTheRecord() throws {
        try start { socket in _ = socket.readToEnd() }  // never answers
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/slow"), hasBody: false)
        c.flush()
        XCTAssertEqual(proxy.sink.waitForFlows(1).first?.l7?.type, .request)
        _ = Glibc.shutdown(c.socket.fd, Int32(SHUT_RDWR))
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.count, 2, "stream \(id) got its failure flow")
        XCTAssertEqual(flows.last?.verdict, .error)
        XCTAssertEqual(flows.last?.http?.code, 0)
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: 0))
    }

    // MARK: floods, as raw frames

    private static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8] = []) -> [UInt8] {
        let n = payload.count
        return [
            UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
            UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF),
        ] + payload
    }

    /// Sends the preface, an empty SETTINGS and `flood`; returns the GOAWAY error code received
    /// before the proxy closed the connection (nil: no GOAWAY, or not closed).
    private func goawayAfter(_ flood: [UInt8]) throws -> UInt32? {
        let c = try client()
        c.send(HTTP2Preface.bytes + Self.frame(4, 0, 0) + flood)
        let got = c.readToEnd()
        guard c.end == .eof || c.end == .reset else { return nil }
        var i = 0
        while i + 9 <= got.count {
            let n = Int(got[i]) << 16 | Int(got[i + 1]) << 8 | Int(got[i + 2])
            if got[i + 3] == 7 && i + 17 <= got.count {
                return got[(i + 13)..<(i + 17)].reduce(0) { $0 << 8 | UInt32($1) }
            }
            i += 9 + n
        }
        return nil
    }

    func testFloodsGetGoawayEnhanceYourCalm() throws {
        try start(HTTP2Peer.upstreamScript)
        let ping = (0..<2000).flatMap { _ in Self.frame(6, 0, 0, [UInt8](repeating: 7, count: 8)) }
        XCTAssertEqual(try goawayAfter(ping), HTTP2Connection.enhanceYourCalm, "PING")
        let settings = (0..<500).flatMap { _ in Self.frame(4, 0, 0) }
        XCTAssertEqual(try goawayAfter(settings), HTTP2Connection.enhanceYourCalm, "SETTINGS")
        // HEADERS for POST /allowed/post (HPACK: :method POST, :scheme http, :path /, literal
        // :authority "b"), then empty DATA frames without END_STREAM.
        let headers: [UInt8] = [0x83, 0x86, 0x84, 0x41, 0x01, 0x62]
        let empty = Self.frame(1, 4, 1, headers) + (0..<10).flatMap { _ in Self.frame(0, 0, 1) }
        XCTAssertEqual(try goawayAfter(empty), HTTP2Connection.enhanceYourCalm, "empty DATA")
        let continuation = Self.frame(1, 0, 1, headers) + (0..<50).flatMap { _ in Self.frame(9, 0, 1) }
        XCTAssertEqual(try goawayAfter(continuation), HTTP2Connection.enhanceYourCalm, "CONTINUATION")
        // A well-behaved client is still served.
        let good = try h2client()
        let id = try good.session.submitRequest(HTTP2Peer.request("GET", "/allowed/ok"), hasBody: false)
        XCTAssertTrue(good.pump { _ in good.isClosed(id) })
        XCTAssertEqual(good.headers(id).first?.text(of: ":status"), "200")
    }
}
