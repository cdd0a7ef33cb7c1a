import Glibc
import HTTP2
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// The write side of the HTTP/2 sockets: frames pulled from a real nghttp2 session into the
/// output buffer up to the high-water mark (nil when the buffer cannot hold them), and one write
/// to a peer consuming what the peer took.
final class HTTP2OutputTests: XCTestCase {
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private func client() throws -> HTTP2Session {
        try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
    }

    func testFramesArePulledUntilTheSessionHasNothingMore() throws {
        let session = try client()
        let output = IOBuffer(capacity: 64, limit: 1 << 16)
        XCTAssertEqual(HTTP2Output.produce(session, into: output, highWater: 1 << 16), true)
        let bytes = Array(output.readable)
        XCTAssertEqual(Array(bytes.prefix(Self.preface.count)), Self.preface, "the client preface first")
        XCTAssertEqual(bytes[Self.preface.count + 3], 4, "then a SETTINGS frame")
        XCTAssertEqual(HTTP2Output.produce(session, into: output, highWater: 1 << 16), false, "nothing more")
        XCTAssertEqual(output.readableCount, bytes.count)
    }

    func testTheHighWaterMarkStopsThePullAndTheRestWaitsInTheSession() throws {
        let session = try client()
        _ = try session.submitRequest(
            HTTP2HeaderBlock([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")]),
            hasBody: false)
        let output = IOBuffer(capacity: 64, limit: 1 << 16)
        XCTAssertEqual(HTTP2Output.produce(session, into: output, highWater: 1), true)
        let first = output.readableCount
        XCTAssertTrue(session.wantsWrite, "the request's HEADERS still wait")
        XCTAssertEqual(HTTP2Output.produce(session, into: output, highWater: 1 << 16), true)
        XCTAssertGreaterThan(output.readableCount, first)
        XCTAssertFalse(session.wantsWrite)
    }

    func testABufferThatCannotHoldTheFramesEndsTheConnection() throws {
        let output = IOBuffer(capacity: 8, limit: 8)
        XCTAssertNil(HTTP2Output.produce(try client(), into: output, highWater: 1 << 16))
    }

    func testOneWriteConsumesWhatThePeerTook() throws {
        let output = IOBuffer(capacity: 64, limit: 64)
        XCTAssertTrue(Array("0123456789abcdef".utf8).withUnsafeBytes { output.append($0) })
        let peer = EmbeddedHTTP2Link(side: .downstream, ready: true)
        let pipe = peer.pipe
        pipe.writeLimit = 10
        let step = HTTP2Output.write(output, to: peer)
        XCTAssertEqual(step, .progress(10))
        XCTAssertTrue(HTTP2Output.wrote(step))
        XCTAssertEqual(String(decoding: pipe.outbound, as: UTF8.self), "0123456789")
        XCTAssertEqual(String(decoding: output.readable, as: UTF8.self), "abcdef", "the rest stays")

        pipe.writeLimit = 0
        let blocked = HTTP2Output.write(output, to: peer)
        XCTAssertEqual(blocked, .blocked)
        XCTAssertFalse(HTTP2Output.wrote(blocked))

        pipe.writeFailure = EPIPE
        let closed = HTTP2Output.write(output, to: peer)
        XCTAssertEqual(closed, .closed(PeerClose(side: .downstream, errno: EPIPE)))
        XCTAssertFalse(HTTP2Output.wrote(closed))
        XCTAssertEqual(output.readableCount, 6, "nothing consumed by a failed write")
    }

    func testReadableEventsAreReadHangupAndErrorsToo() {
        XCTAssertTrue(HTTP2Output.readable(EventLoop.Events.readable))
        XCTAssertTrue(HTTP2Output.readable(EventLoop.Events.readHangup))
        XCTAssertTrue(HTTP2Output.readable(EventLoop.Events.hangup))
        XCTAssertTrue(HTTP2Output.readable(EventLoop.Events.error))
        XCTAssertFalse(HTTP2Output.readable(EventLoop.Events.writable))
    }
}
