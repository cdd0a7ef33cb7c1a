import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// The client side's events (HTTP2Connection+ClientEvents): a preface split across reads, resets and rapid resets, a client leaving mid-stream, frame floods.
/// End to end over loopback, as HTTP2ConnectionTests.
final class HTTP2ConnectionClientEventsTests: ProxyTestCase {
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

    /// Sends the preface, an empty SETTINGS and `flood`; returns the GOAWAY error code received
    /// before the proxy closed the connection (nil: no GOAWAY, or not closed).
    private func goawayAfter(_ flood: [UInt8]) throws -> UInt32? {
        let c = try client()
        c.send(HTTP2Preface.bytes + Self.rawFrame(4, 0, 0) + flood)
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
        let ping = (0..<2000).flatMap { _ in Self.rawFrame(6, 0, 0, [UInt8](repeating: 7, count: 8)) }
        XCTAssertEqual(try goawayAfter(ping), HTTP2Connection.enhanceYourCalm, "PING")
        let settings = (0..<500).flatMap { _ in Self.rawFrame(4, 0, 0) }
        XCTAssertEqual(try goawayAfter(settings), HTTP2Connection.enhanceYourCalm, "SETTINGS")
        // HEADERS for POST /allowed/post (HPACK: :method POST, :scheme http, :path /, literal
        // :authority "b"), then empty DATA frames without END_STREAM.
        let headers: [UInt8] = [0x83, 0x86, 0x84, 0x41, 0x01, 0x62]
        let empty = Self.rawFrame(1, 4, 1, headers) + (0..<10).flatMap { _ in Self.rawFrame(0, 0, 1) }
        XCTAssertEqual(try goawayAfter(empty), HTTP2Connection.enhanceYourCalm, "empty DATA")
        let continuation = Self.rawFrame(1, 0, 1, headers) + (0..<50).flatMap { _ in Self.rawFrame(9, 0, 1) }
        XCTAssertEqual(try goawayAfter(continuation), HTTP2Connection.enhanceYourCalm, "CONTINUATION")
        // A well-behaved client is still served.
        let good = try h2client()
        let id = try good.session.submitRequest(HTTP2Peer.request("GET", "/allowed/ok"), hasBody: false)
        XCTAssertTrue(good.pump { _ in good.isClosed(id) })
        XCTAssertEqual(good.headers(id).first?.text(of: ":status"), "200")
    }
}
