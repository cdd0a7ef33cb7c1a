import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `HTTP1Connection` driven through `EmbeddedHTTP1`: no sockets, no threads, every byte checked.
/// Policy: app=client may GET /allowed.* on the backend's port 8080 (ingress), nothing else.
final class HTTP1ConnectionEmbeddedTests: XCTestCase {
    private func make() throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
    }

    private static let allowed = "GET /allowed HTTP/1.1\r\nHost: backend\r\n\r\n"
    private static let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    private func withoutDate(_ s: String) -> String {
        s.split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("date:") }
            .joined(separator: "\r\n")
    }

    func testAllowedGETIsForwardedAndAnsweredByteExact() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        XCTAssertEqual(e.actions, [.connect])
        XCTAssertEqual(e.state, .connecting)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.allowed)
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: false))
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        XCTAssertEqual(e.state, .readingHead)
        let flows = e.flows
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 200])
        XCTAssertEqual(flows.map { $0.http?.connectionError }, [nil, nil])
    }

    func testDeniedRequestGets403AccessDeniedAndTheConnectionStaysOpen() throws {
        let e = try make()
        e.clientSends("GET /secret HTTP/1.1\r\nHost: backend\r\n\r\n")
        let reply = withoutDate(e.clientReceived())
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), reply)
        XCTAssertTrue(reply.hasSuffix("\r\n\r\nAccess denied\r\n"), reply)
        XCTAssertFalse(reply.contains("connection: close"), reply)
        XCTAssertEqual(e.actions, [], "no upstream for a denied request")
        XCTAssertEqual(e.state, .readingHead)
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 403])
    }

    func testDeniedRequestWithConnectionCloseGets403ThenClose() throws {
        let e = try make()
        e.clientSends("GET /secret HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
        let reply = withoutDate(e.clientReceived())
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), reply)
        XCTAssertTrue(reply.contains("connection: close\r\n"), reply)
        // Half-close after the answer, then drain until the client's FIN (lingering close).
        XCTAssertEqual(e.actions, [.shutdownClientWrite])
        XCTAssertEqual(e.state, .lingering)
        e.clientCloses()
        XCTAssertEqual(e.actions, [.shutdownClientWrite, .closeClient(reset: false)])
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped, .forwarded], "a FIN after the answer is no failure")
    }

    func testKeepAliveSecondRequestIsDecidedOnItsOwn() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.allowed)
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)

        e.clientSends("GET /secret HTTP/1.1\r\nHost: backend\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        XCTAssertEqual(e.upstreamReceived(), "", "the denied request never reaches the upstream")

        e.clientSends("GET /allowed/2 HTTP/1.1\r\nHost: backend\r\n\r\n")
        XCTAssertEqual(e.upstreamReceived(), "GET /allowed/2 HTTP/1.1\r\nHost: backend\r\n\r\n")
        XCTAssertEqual(e.actions, [.connect], "one upstream connection for the whole keep-alive connection")
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded, .dropped, .forwarded, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 403, 0])
    }

    func testChunkedRequestBodyIsRelayedAsItArrives() throws {
        let e = try make()
        let head = "GET /allowed/upload HTTP/1.1\r\nHost: backend\r\nTransfer-Encoding: chunked\r\n\r\n"
        e.clientSends(head + "5\r\nhello\r\n")
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), head + "5\r\nhello\r\n")
        XCTAssertEqual(e.state, .forwardingRequest)
        e.clientSends("6\r\n world\r\n")
        XCTAssertEqual(e.upstreamReceived(), "6\r\n world\r\n")
        e.clientSends("0\r\n\r\n")
        XCTAssertEqual(e.upstreamReceived(), "0\r\n\r\n")
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: false))
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        XCTAssertEqual(e.state, .readingHead)
    }

    func testUpstreamResetMidBodyReachesTheFlowRecordWithSideAndErrno() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        e.upstreamCloses(errno: ECONNRESET)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.actions, [.connect, .closeUpstream, .closeClient(reset: false)])
        let flows = e.flows
        XCTAssertEqual(flows.map(\.verdict), [.forwarded, .forwarded, .error])
        XCTAssertEqual(flows.last?.http?.code, 200)
        XCTAssertEqual(
            flows.last?.http?.connectionError,
            Flow.ConnectionError(side: .upstream, errno: ECONNRESET))
        XCTAssertTrue(flows.last?.summary.hasSuffix(" upstream ECONNRESET") ?? false, flows.last?.summary ?? "")
    }

    func testUpstreamEOFMidBodyIsRecordedAsAnUpstreamEOF() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        e.upstreamCloses()
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.last?.verdict, .error)
        XCTAssertEqual(e.flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
    }

    func testClientGoneMidRequestBodyIsRecordedAsADownstreamFailure() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nContent-Length: 10\r\n\r\n12345")
        e.upstreamConnects()
        e.clientCloses(errno: ECONNRESET)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .error])
        XCTAssertEqual(e.flows.last?.http?.code, 0)
        XCTAssertEqual(
            e.flows.last?.http?.connectionError,
            Flow.ConnectionError(side: .downstream, errno: ECONNRESET))
    }

    func testRefusedUpstreamGets503WhoseFlowNamesTheUpstreamAndErrno() throws {
        let e = try make()
        e.transport.connectRefusal = ECONNREFUSED
        e.clientSends(Self.allowed)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        XCTAssertEqual(e.state, .readingHead)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 503])
        XCTAssertEqual(e.flows.last?.verdict, .forwarded)
        XCTAssertEqual(
            e.flows.last?.http?.connectionError,
            Flow.ConnectionError(side: .upstream, errno: ECONNREFUSED))
    }

    func testConnectTimeoutGets503WithETIMEDOUT() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        XCTAssertEqual(e.state, .connecting)
        e.advance(by: e.ctx.config.connectTimeoutNs)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        XCTAssertEqual(
            e.flows.last?.http?.connectionError,
            Flow.ConnectionError(side: .upstream, errno: ETIMEDOUT))
    }

    func testMalformedHeadGets400ThenLingeringClose() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nno colon here\r\n\r\n")
        let reply = withoutDate(e.clientReceived())
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), reply)
        XCTAssertTrue(reply.contains("connection: close\r\n"), reply)
        XCTAssertEqual(e.actions, [.shutdownClientWrite], "unread bytes: half-close and drain, no RST")
        XCTAssertEqual(e.state, .lingering)
        XCTAssertEqual(e.flows.map(\.verdict), [.error, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 400])
        e.advance(by: 2_000_000_000)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.actions, [.shutdownClientWrite, .closeClient(reset: false)])
    }

    func testPipelinedRequestsAreForwardedOneAtATime() throws {
        let e = try make()
        let second = "GET /allowed/2 HTTP/1.1\r\nHost: backend\r\n\r\n"
        e.clientSends(Self.allowed + second)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.allowed, "the second request waits for the first response")
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        XCTAssertEqual(e.upstreamReceived(), second)
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 200])
        XCTAssertEqual(e.state, .readingHead)
    }

    func testPartialWritesToTheClientResumeOnTheNextWritableEdge() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.transport.clientPipe.writeLimit = 10
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), String(Self.ok.prefix(10)))
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false))
        e.transport.clientPipe.writeLimit = .max
        e.connection.handleEvents(EventLoop.Events.writable, tag: HTTP1Tag.downstream)
        XCTAssertEqual(e.clientReceived(), String(Self.ok.dropFirst(10)))
        XCTAssertEqual(e.state, .readingHead)
    }
    func testHTTP2PrefaceIsHandedOff() throws {
        let e = try make()
        e.clientSends("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        XCTAssertEqual(e.actions, [.handOffToHTTP2])
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.count, 0, "HTTP2Connection records its own streams")
    }

    func testClientConnectionCloseIsNotForwardedAndTheResponseGetsOne() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.allowed, "the hop-by-hop close stays on the client's side")
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        // The upstream connection stays clean and is parked; the client's side ends.
        XCTAssertEqual(e.actions, [.connect, .parkUpstream, .closeClient(reset: false)])
        XCTAssertEqual(e.state, .closed)
    }

    func testInterimResponseIsRelayedBeforeTheFinalOne() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n")
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: true))
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200], "a 1xx writes no response flow")
    }

    func testResponseTimeoutBeforeAnyByteGets504WithETIMEDOUT() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.advance(by: e.ctx.config.requestTimeoutNs)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"))
        XCTAssertEqual(e.flows.last?.http?.code, 504)
        XCTAssertEqual(
            e.flows.last?.http?.connectionError,
            Flow.ConnectionError(side: .upstream, errno: ETIMEDOUT))
    }
}
