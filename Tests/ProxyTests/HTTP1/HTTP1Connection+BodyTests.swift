import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// The body-relay steps both directions share (`HTTP1Connection+Body`), each case run with the
/// body through the connection's buffer and through the (in-memory) splice pipe: a failed source
/// and a failed destination, for the request and for the response, with what reaches each peer
/// and the flow record. Policy: app=client may GET /allowed.* and POST /upload on port 8080.
final class HTTP1ConnectionBodyTests: XCTestCase {
    private func make(splice: Bool) throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: 8080, rules: ["{method: GET, path: \"/allowed.*\"}", "{method: POST, path: \"/upload\"}"]))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot), splice: splice)
    }

    private func body(_ count: Int, _ letter: Character = "b") -> String { String(repeating: letter, count: count) }

    private static let upload = "POST /upload HTTP/1.1\r\nHost: backend\r\ncontent-length: 300000\r\n\r\n"
    private static let get = "GET /allowed/big HTTP/1.1\r\nHost: backend\r\n\r\n"

    /// Request body, destination failed: the upstream's write fails mid-upload (no response yet):
    /// 503 to the client, the upstream's side and errno in the flow.
    func testAnUpstreamWriteFailingMidUploadIsAnswered503WithItsErrno() throws {
        for splice in [false, true] {
            let e = try make(splice: splice)
            e.clientSends(Self.upload + body(1000))
            e.upstreamConnects()
            XCTAssertEqual(e.upstreamReceived(), Self.upload + body(1000), "splice \(splice)")
            e.upstream?.writeFailure = EPIPE
            e.clientSends(body(200_000))
            XCTAssertEqual(e.transport.spliceFills > 0, splice, "splice \(splice): the pipe is used when on")
            XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "splice \(splice)")
            XCTAssertTrue(e.actions.contains(.closeUpstream), "splice \(splice)")
            let last = try XCTUnwrap(e.flows.last)
            XCTAssertEqual(last.http?.code, 503, "splice \(splice)")
            XCTAssertEqual(last.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: EPIPE))
        }
    }

    /// Request body, source failed: the client resets mid-upload: the exchange is aborted, the
    /// client's side and errno in the flow, nothing answered.
    func testAClientResetMidUploadAbortsTheExchange() throws {
        for splice in [false, true] {
            let e = try make(splice: splice)
            e.clientSends(Self.upload + body(1000))
            e.upstreamConnects()
            _ = e.upstreamReceived()
            e.clientSends(body(50_000))
            XCTAssertEqual(e.upstreamReceived(), body(50_000), "splice \(splice): byte for byte")
            e.clientCloses(errno: ECONNRESET)
            XCTAssertEqual(e.state, .closed, "splice \(splice)")
            XCTAssertEqual(e.clientReceived(), "", "splice \(splice): no answer to a client that left")
            let last = try XCTUnwrap(e.flows.last)
            XCTAssertEqual(last.verdict, .error)
            XCTAssertEqual(last.http?.code, 0)
            XCTAssertEqual(
                last.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ECONNRESET))
        }
    }

    /// Response body, destination failed: the client's write fails mid-body: aborted with the
    /// response's status and the client's side and errno in the flow.
    func testAClientWriteFailingMidResponseAbortsWithTheStatus() throws {
        for splice in [false, true] {
            let e = try make(splice: splice)
            e.clientSends(Self.get)
            e.upstreamConnects()
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n"
            e.upstreamSends(head + body(100_000))
            XCTAssertEqual(e.clientReceived(), head + body(100_000), "splice \(splice)")
            XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false), "splice \(splice)")
            XCTAssertEqual(e.transport.splicedOut > 0, splice, "splice \(splice): the pipe is used when on")
            e.transport.clientPipe.writeFailure = ECONNRESET
            e.upstreamSends(body(50_000))
            XCTAssertEqual(e.state, .closed, "splice \(splice)")
            XCTAssertTrue(e.actions.contains(.closeUpstream), "splice \(splice): the upstream is not reused")
            let last = try XCTUnwrap(e.flows.last)
            XCTAssertEqual(last.verdict, .error)
            XCTAssertEqual(last.http?.code, 200)
            XCTAssertEqual(
                last.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ECONNRESET))
        }
    }

    /// Response body, source failed: an until-close body ends with the upstream's EOF and is
    /// complete (the client's connection ends with it); a length body cut by EOF is a truncation.
    func testTheUpstreamsEOFEndsAnUntilCloseBodyAndTruncatesALengthBody() throws {
        for splice in [false, true] {
            let e = try make(splice: splice)
            e.clientSends(Self.get)
            e.upstreamConnects()
            let untilClose = "HTTP/1.1 200 OK\r\n\r\n" + body(80_000, "u")
            e.upstreamSends(untilClose)
            e.upstreamCloses()
            XCTAssertEqual(e.clientReceived(), untilClose, "splice \(splice)")
            XCTAssertEqual(e.flows.last?.http?.connectionError, nil, "splice \(splice): a complete body")

            let t = try make(splice: splice)
            t.clientSends(Self.get)
            t.upstreamConnects()
            let cut = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + body(80_000, "c")
            t.upstreamSends(cut)
            t.upstreamCloses()
            XCTAssertEqual(t.clientReceived(), cut, "splice \(splice): every byte before the close")
            XCTAssertEqual(t.state, .closed)
            XCTAssertEqual(t.flows.last?.verdict, .error)
            XCTAssertEqual(t.flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
        }
    }
}
