import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Spliced bodies through `HTTP1Connection` over `EmbeddedHTTP1` with its in-memory pipe (the
/// transport's `spliceIn`/`spliceOut`, as splice(2) moves bytes in production): every byte
/// checked, which bytes took the pipe and which the buffer, where splicing stops (the body's end,
/// then the next request is decided), backpressure, truncation and the flow records.
/// Policy: app=client may GET /allowed.* and POST /upload on the backend's port 8080.
final class HTTP1SpliceEmbeddedTests: XCTestCase {
    private func make() throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: 8080, rules: ["{method: GET, path: \"/allowed.*\"}", "{method: POST, path: \"/upload\"}"]))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot), splice: true)
    }

    /// `count` bytes with a long period (a shifted or dropped byte shows).
    private func body(_ count: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count { bytes[i] = letters[(i &* 7 &+ i / 61) % letters.count] }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let get = "GET /allowed/big HTTP/1.1\r\nHost: backend\r\n\r\n"

    /// The connection's buffer size: the first read takes this much of a response.
    private func bufferBytes(_ e: EmbeddedHTTP1) -> Int { e.ctx.config.bufferBytes }

    func testAContentLengthBodyIsSplicedAfterTheBufferedPartAndTheNextRequestIsDecided() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.get)
        let payload = body(300_000)
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + payload
        e.upstreamSends(response)
        XCTAssertEqual(e.clientReceived(), response, "byte for byte")
        XCTAssertEqual(
            e.transport.splicedOut, response.utf8.count - bufferBytes(e),
            "everything after the first read went through the pipe")
        XCTAssertEqual(e.state, .readingHead, "the body's end is where splicing stops")
        XCTAssertEqual(e.transport.piped, 0)
        // The next request on the same connection is judged: denied, 403, connection kept.
        e.clientSends("GET /secret HTTP/1.1\r\nHost: backend\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded, .dropped, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 403])
        XCTAssertEqual(e.flows.map { $0.http?.connectionError }, [nil, nil, nil, nil])
        XCTAssertEqual(e.actions, [.connect], "the upstream stays open, idle")
    }

    /// A response body's drains never say more follows (one TSO packet each, sent whole: a held
    /// partial segment would wait for a pacing timer); an upload's drains do, all but the last
    /// (SPLICE_F_MORE: the kernel sends full segments), the last one sends everything at once.
    func testResponseDrainsNeverSayMoreAndAnUploadsSayItUntilItsLast() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + body(300_000)
        e.upstreamSends(response)
        XCTAssertEqual(e.clientReceived(), response)
        let drains = e.transport.drains
        XCTAssertGreaterThan(drains.count, 2, "several pipes' worth")
        XCTAssertEqual(drains.filter(\.more).count, 0)
        XCTAssertEqual(drains.reduce(0) { $0 + $1.bytes }, e.transport.splicedOut)
        XCTAssertEqual(e.upstreamReceived(), Self.get)
        let upload = "POST /upload HTTP/1.1\r\nHost: backend\r\ncontent-length: 200000\r\n\r\n" + body(200_000)
        e.clientSends(upload)
        XCTAssertEqual(e.upstreamReceived(), upload)
        let up = e.transport.drains[drains.count...]
        XCTAssertGreaterThan(up.count, 1)
        XCTAssertEqual(up.map(\.more), Array(repeating: true, count: up.count - 1) + [false])
    }

    /// A chunked upload: a drain says more follows only while the current chunk's data goes on
    /// (a full pipe); the drain that ends a chunk's data does not (framing follows by a plain
    /// write).
    func testUploadDrainsSayMoreOnlyInsideAChunk() throws {
        let e = try make()
        var upload = "POST /upload HTTP/1.1\r\nHost: backend\r\ntransfer-encoding: chunked\r\n\r\n"
        for c in [body(40_000), body(150_000), "12345"] {
            upload += String(c.utf8.count, radix: 16) + "\r\n" + c + "\r\n"
        }
        upload += "0\r\n\r\n"
        e.clientSends(upload)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), upload)
        let drains = e.transport.drains
        XCTAssertEqual(drains.filter { !$0.more }.count, 2, "one chunk end per spliced chunk")
        XCTAssertEqual(drains.last?.more, false)
        for d in drains where d.more { XCTAssertEqual(d.bytes, e.transport.pipeCapacity, "a full pipe inside a chunk") }
    }

    func testPipelinedBytesAfterASplicedBodyAreTheNextResponseNotTheBody() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        let payload = body(100_000)
        let first = "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + payload
        // The upstream's head arrives alone, then the body and, at once, bytes past its end: the
        // pipe takes exactly the body, never the bytes after it.
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        e.upstreamSends(payload + "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno")
        XCTAssertEqual(e.clientReceived(), first)
        XCTAssertEqual(e.transport.splicedOut, 100_000, "the whole body through the pipe")
        XCTAssertEqual(e.state, .readingHead)
        // The bytes past the body stay unread with the upstream, none went to the client.
        XCTAssertEqual(e.upstream?.inbound.count, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno".utf8.count)
    }

    func testAChunkedBodySplicesChunkDataAndScansTheSizeLines() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        let chunks = [body(40_000), body(70_000), "12345"]
        var response = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        for c in chunks { response += String(c.utf8.count, radix: 16) + ";ext=1\r\n" + c + "\r\n" }
        response += "0\r\nx-trailer: done\r\n\r\n"
        // In pieces that split size lines and data anywhere.
        let bytes = Array(response.utf8)
        var at = 0
        for piece in [100, 17_000, 3, 50_000, 9, 1, 30_000, 7_000] where at < bytes.count {
            let end = min(bytes.count, at + piece)
            e.upstreamSends(String(decoding: bytes[at..<end], as: UTF8.self))
            at = end
        }
        if at < bytes.count { e.upstreamSends(String(decoding: bytes[at...], as: UTF8.self)) }
        XCTAssertEqual(e.clientReceived(), response, "framing, data and trailers byte for byte")
        XCTAssertGreaterThan(e.transport.splicedOut, 60_000, "most chunk data went through the pipe")
        XCTAssertEqual(e.state, .readingHead)
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200])
    }

    func testAClientThatStopsReadingStopsTheUpstreamReadsThenResumes() throws {
        let e = try make()
        e.transport.pipeCapacity = 8192
        e.clientSends(Self.get)
        e.upstreamConnects()
        let payload = body(1_000_000)
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" + payload
        e.transport.clientPipe.writeLimit = 0
        e.upstreamSends(response)
        let fills = e.transport.spliceFills
        XCTAssertLessThanOrEqual(e.transport.piped, 8192, "at most one pipe's worth waits for the client")
        let waiting = e.upstream?.inbound.count ?? 0
        XCTAssertGreaterThan(waiting, 1_000_000 - 16384 - 8192 - 1, "the rest stays with the upstream")
        // More readable edges from the upstream change nothing while the client does not read.
        for _ in 0..<5 { e.connection.handleEvents(EventLoop.Events.readable, tag: HTTP1Tag.upstream) }
        XCTAssertEqual(e.transport.spliceFills, fills)
        XCTAssertEqual(e.upstream?.inbound.count, waiting)
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false))
        // The client reads again: the transfer resumes and completes.
        e.transport.clientPipe.writeLimit = .max
        e.connection.handleEvents(EventLoop.Events.writable, tag: HTTP1Tag.downstream)
        XCTAssertEqual(e.clientReceived(), response)
        XCTAssertEqual(e.state, .readingHead)
    }

    func testAClientStuckPastTheBodyIdleTimeoutIsNamedInTheFlow() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        e.transport.clientPipe.writeLimit = 0
        e.upstreamSends(body(100_000))
        XCTAssertGreaterThan(e.transport.piped, 0, "bytes wait in the pipe, not in the buffer")
        e.advance(by: e.ctx.config.bodyIdleTimeoutNs)
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(
            e.flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ETIMEDOUT))
        XCTAssertTrue(e.transport.releasedPipeHolding.contains { $0 > 0 }, "a pipe with bytes is let go, not reused")
    }

    func testAnUpstreamThatClosesMidBodyTruncatesTheClientAndTheFlowSaysSo() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n"
        let part = body(60_000)
        e.upstreamSends(head + part)
        XCTAssertEqual(e.state, .relayingResponse(upstreamEnded: false))
        e.upstreamCloses()
        XCTAssertEqual(e.clientReceived(), head + part, "every byte before the close reached the client")
        XCTAssertEqual(e.state, .closed)
        XCTAssertTrue(e.actions.contains(.closeClient(reset: false)), "the client sees the truncation as a close")
        let last = try XCTUnwrap(e.flows.last)
        XCTAssertEqual(last.verdict, .error)
        XCTAssertEqual(last.http?.code, 200)
        XCTAssertEqual(last.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
    }

    func testAnUntilCloseBodyIsSplicedToItsEnd() throws {
        let e = try make()
        e.clientSends(Self.get)
        e.upstreamConnects()
        let response = "HTTP/1.1 200 OK\r\n\r\n" + body(200_000)
        e.upstreamSends(response)
        e.upstreamCloses()
        XCTAssertEqual(e.clientReceived(), response)
        XCTAssertGreaterThan(e.transport.splicedOut, 150_000)
        XCTAssertEqual(e.state, .closed, "the client's connection ends with the body")
        XCTAssertTrue(e.actions.contains(.closeClient(reset: false)))
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded], "an until-close body ends normally")
    }

    func testUploadsWithContentLengthAndChunkedAreSplicedExactly() throws {
        let e = try make()
        let payload = body(200_000)
        let upload = "POST /upload HTTP/1.1\r\nHost: backend\r\ncontent-length: 200000\r\n\r\n" + payload
        e.clientSends(upload)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), upload)
        XCTAssertEqual(e.transport.splicedOut, upload.utf8.count - bufferBytes(e))
        XCTAssertEqual(e.state, .awaitingResponse(interimRelayed: false))
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

        let before = e.transport.splicedOut
        var chunked = "POST /upload HTTP/1.1\r\nHost: backend\r\ntransfer-encoding: chunked\r\n\r\n"
        chunked += "1d4c0\r\n" + body(120_000) + "\r\n" + "a\r\n0123456789\r\n0\r\n\r\n"
        e.clientSends(chunked)
        XCTAssertEqual(e.upstreamReceived(), chunked)
        XCTAssertGreaterThan(e.transport.splicedOut - before, 100_000)
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        // A denied upload on the same connection: 403, its body skipped, never spliced upstream.
        let spliced = e.transport.splicedOut
        e.clientSends("POST /other HTTP/1.1\r\nHost: backend\r\ncontent-length: 50000\r\n\r\n" + body(50_000))
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        XCTAssertEqual(e.transport.splicedOut, spliced)
        XCTAssertEqual(e.upstreamReceived(), "")
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 200, 0, 200, 0, 403])
    }

    /// An upload's body asks for a pipe sized for request bodies, the response's body after it
    /// for one sized for responses (`SplicePipePool`: 256 KiB and 64 KiB by default).
    func testAnUploadAndItsResponseAskForPipesOfTheirOwnDirection() throws {
        let e = try make()
        let upload = "POST /upload HTTP/1.1\r\nHost: backend\r\ncontent-length: 200000\r\n\r\n" + body(200_000)
        e.clientSends(upload)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), upload)
        let uploadPipes = e.transport.pipePreparedFor.count
        XCTAssertGreaterThan(uploadPipes, 0)
        XCTAssertEqual(e.transport.pipePreparedFor, Array(repeating: .request, count: uploadPipes))
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + body(300_000)
        e.upstreamSends(response)
        XCTAssertEqual(e.clientReceived(), response)
        let responsePipes = e.transport.pipePreparedFor[uploadPipes...]
        XCTAssertGreaterThan(responsePipes.count, 0)
        XCTAssertEqual(Array(responsePipes), Array(repeating: .response, count: responsePipes.count))
    }

    func testAClientThatLeavesMidUploadIsAnErrorFlow() throws {
        let e = try make()
        e.clientSends("POST /upload HTTP/1.1\r\nHost: backend\r\ncontent-length: 200000\r\n\r\n" + body(100_000))
        e.upstreamConnects()
        _ = e.upstreamReceived()
        e.clientCloses()
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.last?.verdict, .error)
        XCTAssertEqual(e.flows.last?.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: 0))
    }

    func testWithoutSplicingTheSameBytesTakeTheBuffer() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        let e = try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
        e.clientSends(Self.get)
        e.upstreamConnects()
        let response = "HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n" + body(300_000)
        e.upstreamSends(response)
        XCTAssertEqual(e.clientReceived(), response)
        XCTAssertEqual(e.transport.splicedOut, 0)
        XCTAssertEqual(e.state, .readingHead)
    }
}
