import Flows
import Foundation
import Glibc
import HTTP2
import SluiceModel
import XCTest

@testable import Proxy

/// HTTP/2 streams an attacker shapes: `:authority` and `host` that disagree, streams made
/// malformed on purpose so the proxy does the resetting (the provoked rapid reset), 1-byte DATA
/// frames, and peers that keep a stream's window at 0. A client `HTTP2Peer` plus raw frames, the
/// proxy worker on a manual clock, and upstream scripts that report what arrived.
final class HTTP2ConnectionHostileTests: ProxyTestCase {

    /// An h2c upstream answering each request with what carried its authority
    /// ("authority=<:authority> host=<host>"), its body length, and the number of DATA frames
    /// that carried that body (counted on the wire, before its session coalesces them).
    static let reportingUpstream: (TestSocket) -> Void = { socket in
        guard let session = try? HTTP2Session(role: .server, clock: ManualClock(startNs: 0)) else { return }
        socket.setTimeout(seconds: 10)
        var wire: [UInt8] = []
        var offset = 24  // the client preface
        var dataFrames: [Int32: Int] = [:]
        var bodies: [Int32: Int] = [:]
        var requests: [Int32: HTTP2HeaderBlock] = [:]
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            while let chunk = try? session.produce() { socket.send(Array(chunk)) }
            let n = buf.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            wire += buf[..<n]
            while offset + 9 <= wire.count {
                let length = Int(wire[offset]) << 16 | Int(wire[offset + 1]) << 8 | Int(wire[offset + 2])
                let stream =
                    Int32(wire[offset + 5] & 0x7F) << 24 | Int32(wire[offset + 6]) << 16
                    | Int32(wire[offset + 7]) << 8 | Int32(wire[offset + 8])
                if wire[offset + 3] == 0 && length > 0 { dataFrames[stream, default: 0] += 1 }
                offset += 9 + length
            }
            guard (try? buf[..<n].withUnsafeBytes { try session.receive($0) }) != nil else { return }
            for e in session.takeEvents() {
                var ended: Int32?
                switch e {
                case .headers(let id, let b, .request, let end):
                    requests[id] = b
                    if end { ended = id }
                case .data(let id, let bytes):
                    bodies[id, default: 0] += bytes.count
                    session.consume(stream: id, bytes.count)
                case .endStream(let id): ended = id
                default: break
                }
                guard let id = ended, let req = requests[id] else { continue }
                let text =
                    "authority=\(req.text(of: ":authority") ?? "-") host=\(req.text(of: "host") ?? "-")"
                    + " body=\(bodies[id] ?? 0) frames=\(dataFrames[id] ?? 0)"
                try? session.submitResponse(stream: id, HTTP2HeaderBlock([(":status", "200")]), hasBody: true)
                session.append(stream: id, Array(text.utf8))
                session.end(stream: id)
            }
        }
    }

    // MARK: :authority and host

    func testAgreeingHostIsDroppedAndTheUpstreamSeesOneAuthority() throws {
        try start(Self.reportingUpstream)
        let c = try h2client()
        let id = try c.session.submitRequest(
            HTTP2Peer.request("GET", "/allowed/a", [("host", "BACKEND:80")]), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: c.body(id), as: UTF8.self), "authority=backend host=- body=0 frames=0")
    }

    func testDisagreeingHostGets400AndIsNotForwarded() throws {
        try start(Self.reportingUpstream)
        let c = try h2client()
        let bad = try c.session.submitRequest(
            HTTP2Peer.request("GET", "/allowed/a", [("host", "other")]), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(bad) })
        XCTAssertEqual(c.headers(bad).first?.text(of: ":status"), "400")
        XCTAssertEqual(upstream.connectionsSoFar(), 0, "nothing forwarded")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.error, .forwarded])
        XCTAssertEqual(flows.last?.http?.code, 400)
        // The connection goes on.
        let ok = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/b"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(ok) })
        XCTAssertEqual(String(decoding: c.body(ok), as: UTF8.self), "authority=backend host=- body=0 frames=0")
    }

    // MARK: provoked resets count toward the rapid-reset budget

    /// Sends `count` requests, each followed by `after(id)` raw bytes, reading as it goes; then
    /// reads until the proxy closes the connection. Returns the client.
    private func provoke(
        _ c: HTTP2Peer, count: Int, request: HTTP2HeaderBlock = HTTP2Peer.request("GET", "/allowed/r"),
        hasBody: Bool = false, settle: Int = 5, after: (Int32) -> [UInt8]
    ) throws -> HTTP2Peer {
        c.socket.setTimeout(seconds: 0, microseconds: 20_000)
        for i in 0..<count {
            guard c.goaway == nil, !c.closed else { break }
            guard let id = try? c.session.submitRequest(request, hasBody: hasBody)
            else { break }
            c.flush()
            let raw = after(id)
            if !raw.isEmpty { c.socket.send(raw) }
            if i % 25 == 24 { c.pump { _ in false } }
        }
        c.socket.setTimeout(seconds: settle)
        c.pump { _ in c.goaway != nil }
        c.pump { _ in false }
        return c
    }

    func testStreamsTheProxyResetsAsMalformedEarnAGoaway() throws {
        try start(HTTP2Peer.upstreamScript)
        let good = try h2client()
        // More DATA than the content-length said: a stream error (RFC 9113 8.1.1), so nghttp2
        // resets the stream with PROTOCOL_ERROR after its head was forwarded.
        let post = HTTP2Peer.request("POST", "/allowed/post", [("content-length", "1")])
        let bad = try provoke(try h2client(), count: 700, request: post, hasBody: true) {
            Self.rawFrame(0, 1, $0, [0x61, 0x62])
        }
        XCTAssertEqual(bad.goaway, HTTP2Connection.enhanceYourCalm)
        XCTAssertTrue(bad.closed, "GOAWAY then closed by the proxy, not silent: \(bad.end)")
        let resets = bad.events.filter { if case .reset(_, 1) = $0 { return true } else { return false } }
        XCTAssertGreaterThanOrEqual(resets.count, 250, "the proxy reset the malformed streams itself")
        let id = try good.session.submitRequest(HTTP2Peer.request("GET", "/allowed/still"), hasBody: false)
        XCTAssertTrue(good.pump { _ in good.isClosed(id) })
        XCTAssertEqual(String(decoding: good.body(id), as: UTF8.self), "ok GET /allowed/still 0", "others untouched")
    }

    func testStreamsAnswered400AsMalformedEarnAGoaway() throws {
        try start(HTTP2Peer.upstreamScript)
        let mismatch = HTTP2Peer.request("GET", "/allowed/r", [("host", "elsewhere")])
        let bad = try provoke(try h2client(), count: 700, request: mismatch) { _ in [] }
        XCTAssertEqual(bad.goaway, HTTP2Connection.enhanceYourCalm)
        XCTAssertTrue(bad.closed, "GOAWAY then closed by the proxy, not silent: \(bad.end)")
        XCTAssertEqual(upstream.connectionsSoFar(), 0, "none of them was forwarded")
    }

    func testStreamsWithInvalidFieldsEarnAGoaway() throws {
        try start(HTTP2Peer.upstreamScript)
        // A connection-specific field (RFC 9113 8.2.2): nghttp2 resets the stream, PROTOCOL_ERROR.
        let invalid = HTTP2Peer.request("GET", "/allowed/r", [("connection", "keep-alive")])
        let bad = try provoke(try h2client(), count: 700, request: invalid) { _ in [] }
        XCTAssertEqual(bad.goaway, HTTP2Connection.enhanceYourCalm)
        XCTAssertTrue(bad.closed, "GOAWAY then closed by the proxy, not silent: \(bad.end)")
        XCTAssertEqual(upstream.connectionsSoFar(), 0, "none of them was forwarded")
    }

    func testAFewMalformedStreamsAmongManyGoodOnesAreNoFlood() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let post = HTTP2Peer.request("POST", "/allowed/post", [("content-length", "1")])
        var ids: [Int32] = []
        for i in 0..<600 {
            if i % 10 == 0 {
                let id = try c.session.submitRequest(post, hasBody: true)
                c.flush()
                c.socket.send(Self.rawFrame(0, 1, id, [0x61, 0x62]))
            } else {
                ids.append(try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/g"), hasBody: false))
            }
            if i % 25 == 24 { XCTAssertTrue(c.pump { _ in ids.allSatisfy { c.isClosed($0) } }) }
        }
        XCTAssertTrue(c.pump { _ in ids.allSatisfy { c.isClosed($0) } })
        let resets = c.events.filter { if case .reset(_, 1) = $0 { return true } else { return false } }
        XCTAssertEqual(resets.count, 60, "every malformed stream was reset")
        XCTAssertNil(c.goaway, "10 % malformed is under the budget")
        XCTAssertEqual(ids.filter { c.headers($0).first?.text(of: ":status") == "200" }.count, 540)
    }

    // MARK: 1-byte DATA frames

    func testOneByteDataFramesAreCoalesced() throws {
        try start(Self.reportingUpstream)
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("POST", "/allowed/post"), hasBody: true)
        c.flush()
        c.socket.send((0..<3000).flatMap { _ in Self.rawFrame(0, 0, id, [0x61]) } + Self.rawFrame(0, 1, id))
        // The raw END_STREAM bypassed the client's session: wait for the answer's end instead.
        XCTAssertTrue(c.pump { _ in c.events.contains(.endStream(stream: id)) }, "\(c.end) \(c.events.suffix(4))")
        let report = String(decoding: c.body(id), as: UTF8.self)
        XCTAssertTrue(report.hasPrefix("authority=backend host=- body=3000 frames="), report)
        let frames = Int(report.split(separator: "=").last ?? "") ?? 0
        XCTAssertGreaterThan(frames, 0)
        XCTAssertLessThanOrEqual(frames, 30, "3000 one-byte frames left in a few: \(report)")
    }

    // MARK: a window that stays at 0

    /// Advances the loop's clock a second at a time until `done` or 60 s.
    private func advanceUntil(_ c: HTTP2Peer, seconds: Int = 60, _ done: () -> Bool) -> Bool {
        c.socket.setTimeout(seconds: 0, microseconds: 20_000)
        for _ in 0..<seconds {
            proxy.advance(by: 1_000_000_000)
            c.pump { _ in done() }
            if done() { return true }
        }
        return false
    }

    func testAClientThatNeverOpensItsWindowHasTheStreamResetAfter30s() throws {
        try start(HTTP2Peer.upstreamScript)
        var zero = HTTP2Limits()
        zero.initialStreamWindow = 0
        let c = try h2client(limits: zero)
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
        XCTAssertTrue(c.pump { _ in !c.headers(id).isEmpty }, "the response head is not flow-controlled")
        proxy.drain()
        // A second of loop time per 20 ms of real time: the upstream's DATA reaches the proxy
        // (and is first seen stuck) within the first few scans even on a loaded machine.
        XCTAssertFalse(advanceUntil(c, seconds: 29) { c.isClosed(id) }, "not before the timeout")
        XCTAssertTrue(advanceUntil(c, seconds: 30) { c.isClosed(id) })
        XCTAssertTrue(c.events.contains(.reset(stream: id, errorCode: HTTP2Connection.cancel)), "\(c.events.suffix(3))")
        XCTAssertTrue(c.body(id).isEmpty)
        let flows = proxy.sink.waitForFlows(3)
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded, .error])
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: 110))
        // The connection and its upstream go on.
        let next = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/next"), hasBody: false)
        c.socket.setTimeout(seconds: 5)
        XCTAssertTrue(c.pump { _ in !c.headers(next).isEmpty })
        XCTAssertEqual(c.headers(next).first?.text(of: ":status"), "200")
    }

    func testAnUpstreamThatNeverOpensItsWindowGets504After30s() throws {
        try start { socket in
            var zero = HTTP2Limits()
            zero.initialStreamWindow = 0
            guard let peer = try? HTTP2Peer(socket: socket, role: .server, limits: zero) else { return }
            socket.setTimeout(seconds: 30)
            peer.pump { _ in false }
        }
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("POST", "/allowed/post"), hasBody: true)
        c.session.append(stream: id, [UInt8](repeating: 0x61, count: 100_000))
        c.session.end(stream: id)
        c.flush()
        XCTAssertTrue(eventually { self.upstream.connectionsSoFar() == 1 })
        proxy.drain()
        XCTAssertTrue(advanceUntil(c) { c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "504")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(flows.last?.http?.code, 504)
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 110))
    }

    /// The frames on `fd` that arrived so far (non-blocking), appended to `wire` and cut off it:
    /// (type, stream, payload length) each.
    private static func rawFrames(_ fd: Int32, _ wire: inout [UInt8]) -> [(type: UInt8, stream: Int32, length: Int)] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
            wire += chunk[0..<n]
        }
        var frames: [(UInt8, Int32, Int)] = []
        while wire.count >= 9 {
            let length = Int(wire[0]) << 16 | Int(wire[1]) << 8 | Int(wire[2])
            guard wire.count >= 9 + length else { break }
            let stream = Int32(wire[5] & 0x7F) << 24 | Int32(wire[6]) << 16 | Int32(wire[7]) << 8 | Int32(wire[8])
            frames.append((wire[3], stream, length))
            wire.removeFirst(9 + length)
        }
        return frames
    }

    func testAWindowOpenedOneByteEvery29SecondsIsResetAsStalled() throws {
        try start(HTTP2Peer.upstreamScript)
        var zero = HTTP2Limits()
        zero.initialStreamWindow = 0
        let c = try h2client(limits: zero)
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
        XCTAssertTrue(c.pump { _ in !c.headers(id).isEmpty }, "the response head is not flow-controlled")
        proxy.drain()
        // From here the client reads its socket raw: its own session would take the 1-byte DATA
        // frames the raw WINDOW_UPDATEs allow as a flow-control error.
        var wire: [UInt8] = []
        var resetAt: Int?
        var dataBytes = 0
        for second in 1...50 where resetAt == nil {
            if second % 29 == 0 { c.socket.send(Self.rawFrame(8, 0, id, [0, 0, 0, 1])) }
            proxy.advance(by: 1_000_000_000)
            usleep(20_000)  // the pace of the loop time: a second of it per 20 ms of real time
            for f in Self.rawFrames(c.socket.fd, &wire) where f.stream == id {
                if f.type == 0 { dataBytes += f.length }
                if f.type == 3 { resetAt = second }
            }
        }
        let at = try XCTUnwrap(resetAt, "the stream was kept past 50 s by one byte per 29 s")
        XCTAssertGreaterThanOrEqual(at, 30, "not before the stall timeout")
        XCTAssertLessThan(at, 45, "the 1-byte window at 29 s is not progress enough to restart the clock")
        XCTAssertLessThanOrEqual(dataBytes, 1, "only what the window allowed")
        let flows = proxy.sink.waitForFlows(3)
        XCTAssertEqual(flows.last?.verdict, .error)
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: 110))
    }
}
