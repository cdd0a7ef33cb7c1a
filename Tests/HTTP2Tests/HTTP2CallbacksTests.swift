import HTTP2
import SluiceModel
import XCTest

/// What the nghttp2 callbacks record, seen through a client and a server session wired back to
/// back in memory: header blocks by category, DATA chunks, END_STREAM, resets, stream closes and
/// the streams the server's flood guard counts.
final class HTTP2CallbacksTests: XCTestCase {
    private func output(_ s: HTTP2Session) throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try s.produce() { out.append(contentsOf: chunk) }
        return out
    }

    private func pump(_ a: HTTP2Session, _ b: HTTP2Session) throws {
        for _ in 0..<100 {
            let ab = try output(a)
            let ba = try output(b)
            if ab.isEmpty && ba.isEmpty { return }
            try ab.withUnsafeBytes { try b.receive($0) }
            try ba.withUnsafeBytes { try a.receive($0) }
        }
        XCTFail("the sessions never went quiet")
    }

    private let request = HTTP2HeaderBlock([
        (":method", "POST"), (":scheme", "http"), (":authority", "a.example"), (":path", "/up"), ("x-id", "7"),
    ])

    func testARequestWithBodyAndTrailersThenTheResponse() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
        let id = try client.submitRequest(request, hasBody: true)
        XCTAssertTrue(client.append(stream: id, Array("hello".utf8)))
        client.end(stream: id, trailers: HTTP2HeaderBlock([("x-sum", "5")]))
        try pump(client, server)

        let events = server.takeEvents()
        guard case .headers(let stream, let block, .request, false)? = events.first else {
            return XCTFail("first event: \(String(describing: events.first))")
        }
        XCTAssertEqual(stream, id)
        XCTAssertEqual(
            block.pairs.map { "\($0.0)=\($0.1)" },
            [":method=POST", ":scheme=http", ":authority=a.example", ":path=/up", "x-id=7"])
        let body = events.compactMap { event -> [UInt8]? in
            if case .data(id, let bytes) = event { return bytes }
            return nil
        }
        XCTAssertEqual(Array(body.joined()), Array("hello".utf8))
        XCTAssertTrue(
            events.contains(
                .headers(stream: id, block: HTTP2HeaderBlock([("x-sum", "5")]), category: .trailers, endStream: true)))
        XCTAssertEqual(server.guardian.streamsOpened, 1, "a request HEADERS opens a stream on the server")

        try server.submitResponse(stream: id, HTTP2HeaderBlock([(":status", "204")]), hasBody: false)
        try pump(client, server)
        let answer = client.takeEvents()
        XCTAssertTrue(
            answer.contains(
                .headers(
                    stream: id, block: HTTP2HeaderBlock([(":status", "204")]), category: .response, endStream: true)),
            "\(answer)")
        XCTAssertTrue(answer.contains(.closed(stream: id, errorCode: 0)), "\(answer)")
        XCTAssertEqual(client.guardian.streamsOpened, 0, "a response opens nothing")
        XCTAssertTrue(server.takeEvents().contains(.closed(stream: id, errorCode: 0)))
    }

    func testAResetIsRecordedAndCountedAsPremature() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
        let id = try client.submitRequest(request, hasBody: true)
        try pump(client, server)
        _ = server.takeEvents()
        client.reset(stream: id, errorCode: 8)
        try pump(client, server)
        let events = server.takeEvents()
        XCTAssertTrue(events.contains(.reset(stream: id, errorCode: 8)), "\(events)")
        XCTAssertTrue(events.contains(.closed(stream: id, errorCode: 8)), "\(events)")
        XCTAssertEqual(server.guardian.prematureResets, 1)
    }

    func testGoawayIsRecorded() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
        _ = try client.submitRequest(request, hasBody: false)
        try pump(client, server)
        server.terminate(errorCode: 11)
        try pump(client, server)
        let events = client.takeEvents()
        XCTAssertTrue(
            events.contains { if case .goaway(_, 11) = $0 { return true } else { return false } }, "\(events)")
    }
}
