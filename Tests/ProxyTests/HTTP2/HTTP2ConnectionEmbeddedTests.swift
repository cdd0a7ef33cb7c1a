import Flows
import Glibc
import HTTP2
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `HTTP2Connection` driven through `EmbeddedHTTP2`: no sockets, no threads; the client and the
/// upstream are real nghttp2 sessions, the policy a real compiled one.
/// Policy: app=client may GET /allowed.* on the backend's port 8080 (ingress), nothing else.
final class HTTP2ConnectionEmbeddedTests: XCTestCase {
    private func make() throws -> EmbeddedHTTP2 {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        return try EmbeddedHTTP2(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
    }

    private func request(_ method: String, _ path: String) -> HTTP2HeaderBlock {
        HTTP2HeaderBlock([(":method", method), (":scheme", "http"), (":authority", "backend"), (":path", path)])
    }

    func testAllowedStreamIsForwardedAndAnswered() throws {
        let e = try make()
        let id = try e.clientRequests(request("GET", "/allowed"))
        try e.exchange()
        XCTAssertEqual(e.transport.upstreams.count, 1, "one upstream connection opened")
        XCTAssertEqual(e.upstreamRequests.map { $0.text(of: ":path") }, ["/allowed"])
        XCTAssertEqual(e.upstreamRequests.first?.text(of: ":method"), "GET")
        XCTAssertEqual(e.status(id), "200")
        XCTAssertEqual(e.body(id), "ok /allowed")
        XCTAssertNil(e.goaway)
        XCTAssertFalse(e.clientPipe.closed, "the connection stays open for more streams")
        let flows = e.flows
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 200])
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response])
        XCTAssertEqual(flows.first?.http?.protocol, "HTTP/2")
    }

    func testDeniedStreamGets403WhileAnotherStreamOnTheConnectionIsForwarded() throws {
        let e = try make()
        let allowed = try e.clientRequests(request("GET", "/allowed/one"))
        let denied = try e.clientRequests(request("GET", "/secret"))
        try e.exchange()
        XCTAssertEqual(e.status(denied), "403")
        XCTAssertEqual(e.body(denied), "Access denied\r\n")
        XCTAssertEqual(e.status(allowed), "200")
        XCTAssertEqual(e.body(allowed), "ok /allowed/one")
        XCTAssertEqual(
            e.upstreamRequests.map { $0.text(of: ":path") }, ["/allowed/one"],
            "the denied stream never reaches the upstream")
        XCTAssertFalse(e.wasReset(allowed))
        XCTAssertNil(e.goaway, "a denial ends one stream, not the connection")
        XCTAssertFalse(e.clientPipe.closed)
        let byPath = Dictionary(grouping: e.flows) { $0.http?.url ?? "" }
        XCTAssertEqual(byPath["http://backend/secret"]?.map(\.verdict), [.dropped, .forwarded])
        XCTAssertEqual(byPath["http://backend/secret"]?.map { $0.http?.code }, [0, 403])
        XCTAssertEqual(byPath["http://backend/allowed/one"]?.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(byPath["http://backend/allowed/one"]?.map { $0.http?.code }, [0, 200])

        // The connection carries more streams after the denial.
        let again = try e.clientRequests(request("GET", "/allowed/two"))
        try e.exchange()
        XCTAssertEqual(e.body(again), "ok /allowed/two")
        XCTAssertEqual(e.transport.upstreams.count, 1, "the same upstream connection carries it")
    }

    func testMalformedFrameEndsTheConnectionWithGOAWAYProtocolError() throws {
        let e = try make()
        // The client's preface and SETTINGS, then DATA on stream 0 (RFC 9113 6.1: a connection
        // error of type PROTOCOL_ERROR).
        e.clientSendsRaw([0, 0, 1, 0x0, 0x0, 0, 0, 0, 0, 0x78])
        try e.exchange()
        XCTAssertEqual(e.goaway, HTTP2Connection.protocolError)
        XCTAssertTrue(e.clientPipe.closed, "the connection is closed after the GOAWAY")
        XCTAssertFalse(e.clientPipe.reset, "closed with FIN, the GOAWAY delivered")
        XCTAssertTrue(e.transport.upstreams.isEmpty, "no upstream for a broken client")
        XCTAssertTrue(e.flows.isEmpty, "no stream, no flow")
    }

    /// A broken client whose bytes were not all read when the GOAWAY went out: the proxy
    /// half-closes (FIN after the GOAWAY), drops what still comes, and closes at the client's
    /// FIN; an immediate close would send an RST that can throw the GOAWAY away.
    private func brokenClientWithUnreadBytes() throws -> EmbeddedHTTP2 {
        let e = try make()
        // Not the connection preface, then more bytes than one read takes (16 KiB buffers): the
        // session ends on the first read's bytes, the rest is still unread.
        e.clientSendsRaw(
            Array("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: 40_000),
            afterSession: false)
        try e.clientReads()
        XCTAssertEqual(e.goaway, HTTP2Connection.protocolError)
        XCTAssertTrue(e.clientPipe.writeShutdown, "FIN after the GOAWAY")
        XCTAssertFalse(e.clientPipe.closed, "lingering: not closed while the client may send")
        XCTAssertTrue(e.clientPipe.inbound.isEmpty, "what the client sent was read and dropped")
        return e
    }

    func testABrokenClientStillSendingGetsAFINAfterTheGOAWAYAndIsClosedAtItsFIN() throws {
        let e = try brokenClientWithUnreadBytes()
        e.clientSendsRaw([UInt8](repeating: 0x42, count: 1000), afterSession: false)
        XCTAssertFalse(e.clientPipe.closed)
        XCTAssertTrue(e.clientPipe.inbound.isEmpty, "dropped while lingering")
        e.clientPipe.inboundEnd = 0
        e.connection.handleEvents(EventLoop.Events.readable, tag: 0)
        XCTAssertTrue(e.clientPipe.closed, "closed at the client's FIN")
        XCTAssertFalse(e.clientPipe.reset, "with FIN, nothing unread: no RST")
        XCTAssertEqual(e.ctx.loop.scheduledTimers, 0, "the linger deadline is cancelled")
    }

    func testALingeringConnectionIsClosedAfterTwoSeconds() throws {
        let e = try brokenClientWithUnreadBytes()
        e.advance(by: HTTP2Connection.lingerNs - 1)
        XCTAssertFalse(e.clientPipe.closed)
        e.advance(by: 1)
        XCTAssertTrue(e.clientPipe.closed, "the client that never ends is closed at the deadline")
    }

    func testABadPrefaceIsAnsweredGOAWAYProtocolErrorThenClose() throws {
        let e = try make()
        // Not the client connection preface (RFC 9113 3.4): nghttp2 rejects the bytes, the
        // handler terminates the session with PROTOCOL_ERROR.
        e.clientSendsRaw(Array("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".utf8), afterSession: false)
        try e.exchange()
        XCTAssertEqual(e.goaway, HTTP2Connection.protocolError)
        XCTAssertTrue(e.clientPipe.closed)
        XCTAssertTrue(e.transport.upstreams.isEmpty)
    }

    func testRefusedUpstreamConnectAnswers503OnTheStream() throws {
        let e = try make()
        e.transport.connectRefusal = ECONNREFUSED
        let id = try e.clientRequests(request("GET", "/allowed"))
        try e.exchange()
        XCTAssertEqual(e.status(id), "503")
        XCTAssertNil(e.goaway)
        let response = try XCTUnwrap(e.flows.last?.http)
        XCTAssertEqual(response.code, 503)
        XCTAssertEqual(response.connectionError, .init(side: .upstream, errno: ECONNREFUSED))
    }
}
