import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// The HTTP/1 timeouts (docs/proxy.md "Timeouts"), driven through `EmbeddedHTTP1` with the loop's
/// manual clock: request head (408 or close), keep-alive idle, request body, upstream connect
/// (503), response (504), tunnel idle. Each checks the answer and the flow record's reason
/// (ETIMEDOUT of the side that timed out).
final class HTTP1ConnectionTimeoutTests: XCTestCase {
    private static let second: UInt64 = 1_000_000_000
    private static let allowed = "GET /allowed HTTP/1.1\r\nHost: backend\r\n\r\n"
    private static let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    private static let clientTimedOut = Flow.ConnectionError(side: .downstream, errno: ETIMEDOUT)
    private static let upstreamTimedOut = Flow.ConnectionError(side: .upstream, errno: ETIMEDOUT)

    private func make(_ config: ProxyConfig = ProxyConfig(workers: 1)) throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot), config: config)
    }

    func testDefaultsAreDocumented() {
        let c = ProxyConfig(workers: 1)
        XCTAssertEqual(c.requestHeadTimeoutNs, 10 * Self.second)
        XCTAssertEqual(c.idleTimeoutNs, 3600 * Self.second)
        XCTAssertEqual(c.connectTimeoutNs, 2 * Self.second)
        XCTAssertEqual(c.requestTimeoutNs, 15 * Self.second)
        XCTAssertEqual(c.tunnelIdleTimeoutNs, 300 * Self.second)
        XCTAssertEqual(c.bodyIdleTimeoutNs, 300 * Self.second)
    }

    func testTrickledHeadGets408AtItsDeadlineHoweverOftenBytesArrive() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\n")
        for _ in 0..<9 {
            e.advance(by: Self.second)
            e.clientSends("x")
        }
        XCTAssertEqual(e.state, .readingHead, "9 s in: still within the head deadline")
        e.advance(by: Self.second - 1)
        XCTAssertEqual(e.clientReceived(), "")
        e.advance(by: 1)
        let reply = e.clientReceived()
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), reply)
        XCTAssertTrue(reply.contains("connection: close\r\n"), reply)
        XCTAssertEqual(e.actions, [.shutdownClientWrite], "unread bytes: half-close, then lingering close")
        XCTAssertEqual(e.flows.map(\.verdict), [.error, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 408])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
        XCTAssertTrue(e.flows.last?.summary.hasSuffix("downstream ETIMEDOUT") ?? false, e.flows.last?.summary ?? "")
    }

    func testNewConnectionThatSendsNothingIsClosedAtTheHeadDeadline() throws {
        let e = try make()
        e.advance(by: 10 * Self.second - 1)
        XCTAssertEqual(e.state, .detecting)
        e.advance(by: 1)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.clientReceived(), "", "nothing was asked: no answer, only the close")
        XCTAssertEqual(e.actions, [.closeClient(reset: false)])
        XCTAssertEqual(e.flows.map(\.verdict), [.error, .error])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 0])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
    }

    func testHeadDeadlineIsConfigurable() throws {
        var config = ProxyConfig(workers: 1)
        config.requestHeadTimeoutNs = 2 * Self.second
        let e = try make(config)
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: b")
        e.advance(by: 2 * Self.second)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
    }

    func testKeepAliveIdleClosesAnIdleConnectionAndTheHeadDeadlineDoesNot() throws {
        let e = try make(ProxyConfig(workers: 1, idleTimeoutNs: 60 * Self.second))
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        e.advance(by: 59 * Self.second)
        XCTAssertEqual(e.state, .readingHead, "idle between requests: the 10 s head deadline is not running")
        e.advance(by: Self.second)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.clientReceived(), "")
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 0])
        XCTAssertEqual(e.flows.suffix(2).map(\.verdict), [.error, .error])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
    }

    /// A deadline moved later (head → body → response → idle on every request) leaves the loop's
    /// entry at the earlier time (`HTTP1Connection.arm`): that entry fires early, nothing happens
    /// and the timer waits again for the later deadline; a deadline moved earlier takes effect at
    /// once. Still one timer per connection.
    func testDeadlinesMovedLaterFireOnlyAtTheirTimeAndEarlierOnesAtOnce() throws {
        var config = ProxyConfig(workers: 1, idleTimeoutNs: 60 * Self.second)
        config.requestTimeoutNs = 30 * Self.second
        let e = try make(config)
        let start = e.ctx.loop.now
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        // The connect deadline (2 s, earlier than the head's 10 s) moved the entry; the response
        // deadline after it (30 s, later) did not.
        XCTAssertEqual(e.ctx.loop.scheduledTimers, 1)
        XCTAssertEqual(e.ctx.loop.nextDeadline, start + 2 * Self.second)
        e.advance(by: 2 * Self.second)
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: false), "the early entry fired: nothing due")
        XCTAssertEqual(e.ctx.loop.nextDeadline, start + 30 * Self.second, "waiting again, for the response")
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        // Idle runs to 62 s (later: the entry stays at 30 s); the next head's first bytes bring the
        // deadline to 12 s, earlier than the entry: the heap moves now.
        e.clientSends("GET /allowed/2 HTTP/1.1\r\n")
        XCTAssertEqual(e.ctx.loop.nextDeadline, start + 12 * Self.second)
        XCTAssertEqual(e.ctx.loop.scheduledTimers, 1)
        e.advance(by: 10 * Self.second - 1)
        XCTAssertEqual(e.clientReceived(), "")
        e.advance(by: 1)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 408])
    }

    func testNextHeadAfterIdleGetsItsOwnDeadline() throws {
        let e = try make(ProxyConfig(workers: 1, idleTimeoutNs: 60 * Self.second))
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends(Self.ok)
        XCTAssertEqual(e.clientReceived(), Self.ok)
        e.advance(by: 30 * Self.second)
        e.clientSends("GET /allowed/2 HTTP/1.1\r\n")
        e.advance(by: 10 * Self.second - 1)
        XCTAssertEqual(e.clientReceived(), "")
        e.advance(by: 1)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        XCTAssertEqual(e.flows.last?.http?.code, 408)
    }

    private func bodyConfig(_ seconds: UInt64 = 60) -> ProxyConfig {
        var config = ProxyConfig(workers: 1)
        config.bodyIdleTimeoutNs = seconds * Self.second
        return config
    }

    func testSlowRequestBodyIsBoundedByTheBodyTimeoutNotTheHeadDeadline() throws {
        let e = try make(bodyConfig())
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nContent-Length: 10\r\n\r\n12345")
        e.upstreamConnects()
        e.advance(by: 30 * Self.second)
        XCTAssertEqual(e.state, .forwardingRequest, "a body may take longer than the head deadline")
        e.clientSends("67")
        e.advance(by: 59 * Self.second)
        XCTAssertEqual(e.state, .forwardingRequest, "59 s since the last body byte")
        e.advance(by: Self.second)
        let reply = e.clientReceived()
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), reply)
        XCTAssertTrue(reply.contains("connection: close\r\n"), reply)
        XCTAssertTrue(e.actions.contains(.closeUpstream))
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 408])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
        XCTAssertTrue(e.flows.last?.summary.hasSuffix("downstream ETIMEDOUT") ?? false, e.flows.last?.summary ?? "")
    }

    func testUpstreamThatStopsTakingTheRequestBodyGets504() throws {
        let e = try make(bodyConfig())
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nContent-Length: 10\r\n\r\n")
        e.upstreamConnects()
        _ = e.upstreamReceived()
        e.upstream?.writeLimit = 0
        e.clientSends("12345")
        XCTAssertEqual(e.state, .forwardingRequest)
        e.advance(by: 60 * Self.second)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 504])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.upstreamTimedOut)
    }

    func testUpstreamSilentMidBodyIsCutOffWithAFlow() throws {
        let e = try make(bodyConfig())
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
        XCTAssertTrue(e.clientReceived().hasSuffix("first"))
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false))
        e.advance(by: 40 * Self.second)
        e.upstreamSends("more")
        XCTAssertEqual(e.clientReceived(), "more")
        e.advance(by: 59 * Self.second)
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false), "the timeout counts from the last byte")
        e.advance(by: Self.second)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.clientReceived(), "", "a started response cannot become an answer: close")
        XCTAssertTrue(e.actions.contains(.closeUpstream))
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded, .error])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 200])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.upstreamTimedOut)
        XCTAssertTrue(e.flows.last?.summary.hasSuffix("upstream ETIMEDOUT") ?? false, e.flows.last?.summary ?? "")
    }

    func testClientThatStopsReadingTheResponseIsCutOffWithAFlow() throws {
        let e = try make(bodyConfig())
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.transport.clientPipe.writeLimit = 0
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n" + String(repeating: "x", count: 50))
        XCTAssertEqual(e.clientReceived(), "")
        e.advance(by: 60 * Self.second)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 200])
        XCTAssertEqual(e.flows.last?.verdict, .error)
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
    }

    func testBodyTimeoutZeroMeansNone() throws {
        let e = try make(bodyConfig(0))
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
        e.advance(by: 24 * 3600 * Self.second)
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false))
        XCTAssertEqual(e.flows.count, 2)
    }

    func testDeniedRequestBodyMustBeSkippedWithinTheHeadDeadline() throws {
        let e = try make()
        e.clientSends("POST /allowed HTTP/1.1\r\nHost: backend\r\nContent-Length: 10\r\n\r\n12345")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        XCTAssertEqual(e.state, .localReply(status: 403, thenClose: false))
        e.advance(by: 10 * Self.second)
        XCTAssertEqual(e.state, .closed, "nobody waits long for the body of a denied request")
        XCTAssertEqual(e.actions, [.closeClient(reset: false)])
    }

    func testConnectTimeoutGets503AfterTwoSeconds() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.advance(by: 2 * Self.second - 1)
        XCTAssertEqual(e.state, .connecting)
        e.advance(by: 1)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 503])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.upstreamTimedOut)
    }

    func testResponseTimeoutGets504After15Seconds() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.advance(by: 15 * Self.second - 1)
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: false))
        e.advance(by: 1)
        let reply = e.clientReceived()
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"), reply)
        XCTAssertTrue(reply.hasSuffix("upstream request timeout"), reply)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 504])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.upstreamTimedOut)
        XCTAssertTrue(e.actions.contains(.closeUpstream))
        XCTAssertEqual(e.state, .readingHead, "the client's connection is kept")
    }

    func testResponseTimeoutAfterAnInterimAnswerClosesWithAFlow() throws {
        let e = try make()
        e.clientSends(Self.allowed)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\n")
        _ = e.clientReceived()
        e.advance(by: 15 * Self.second)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.clientReceived(), "", "after a 1xx no final answer can be made up")
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .error])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.upstreamTimedOut)
    }

    func testTunnelIdleTimeoutCountsFromTheLastByte() throws {
        var config = ProxyConfig(workers: 1)
        config.tunnelIdleTimeoutNs = 100 * Self.second
        let e = try make(config)
        e.clientSends(
            "GET /allowed/ws HTTP/1.1\r\nHost: backend\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        e.upstreamConnects()
        _ = e.upstreamReceived()
        e.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertEqual(e.state, .tunnel(upstreamEnded: false))
        e.advance(by: 60 * Self.second)
        e.clientSends("ping")
        XCTAssertEqual(e.upstreamReceived(), "ping")
        e.advance(by: 60 * Self.second)
        XCTAssertEqual(e.state, .tunnel(upstreamEnded: false), "60 s since the last byte")
        e.advance(by: 40 * Self.second)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 101, 101])
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded, .error])
        XCTAssertEqual(e.flows.last?.http?.connectionError, Self.clientTimedOut)
    }
}
