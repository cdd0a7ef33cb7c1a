import SluiceModel
import XCTest

@testable import HTTP2

/// The server session fed byte sequences recorded from real clients (curl 7.88 with
/// `--http2-prior-knowledge`), whole and split at every offset, and a client and a server session
/// wired back to back in memory.
final class HTTP2SessionTests: XCTestCase {
    /// `curl --http2-prior-knowledge http://127.0.0.1:18080/anything/x -H 'x-test: 1'`.
    static let curlGET = hex(
        """
        505249202a20485454502f322e300d0a0d0a534d0d0a0d0a0000120400000000000003000000640004020000000002\
        00000000000004080000000000 01ff0001000032010500000001820489607 57a4ce6aa663cff86418b089d5c0b81\
        70dc0bc0781f7a8825b650c3abbcf2e153032a2f2a4085f2b24a84ff0131
        """)
    /// `curl --http2-prior-knowledge http://127.0.0.1:18081/post -d 'hello=world'`.
    static let curlPOST = hex(
        """
        505249202a20485454502f322e300d0a0d0a534d0d0a0d0a0000120400000000000003000000640004020000000002\
        000000000000040800000000000 1ff000100004301040000000183048462b3a13f86418b089d5c0b8170dc0bc0783f\
        7a8825b650c3abbcf2e153032a2f2a0f0d0231315f981d75d0620d263d4c795bc78f0b4a7b295adb282d443c859300\
        000b00010000000168656c6c6f3d776f726c64
        """)

    /// `nghttp http://127.0.0.1:18082/a 'http://127.0.0.1:18082/b?x=1'` (nghttp2 1.52): the
    /// preface, SETTINGS, five PRIORITY frames building its dependency tree, two HEADERS with
    /// priority on streams 13 and 15.
    static let nghttpTwoStreams = hex(
        """
        505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00000c04000000000000030000006400040000ffff0000        0502000000000300000000c800000502000000000500000000640000050200000000070000000000000005020000        000009000000070000000502000000000b000000030000002a01250000000d0000000b0f8204022f6186418b089d5c        0b8170dc0bc0785f53032a2f2a907a8aaa69d29ac4c0576c4b8300001201250000000f0000000b0f820485623ff3cc        0186c0bf90be
        """)

    static func hex(_ s: String) -> [UInt8] {
        let digits = s.filter { $0.isHexDigit }.map { UInt8(String($0), radix: 16)! }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    private func server() throws -> HTTP2Session {
        try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
    }

    /// Feeds `bytes` in two parts split at `split`; returns the events.
    private func feed(_ s: HTTP2Session, _ bytes: [UInt8], split: Int) throws -> [HTTP2Event] {
        try bytes[..<split].withUnsafeBytes { try s.receive($0) }
        try bytes[split...].withUnsafeBytes { try s.receive($0) }
        return s.takeEvents()
    }

    private func output(_ s: HTTP2Session) throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try s.produce() { out.append(contentsOf: chunk) }
        return out
    }

    func testCurlGETAtEverySplitPoint() throws {
        XCTAssertEqual(Self.curlGET.count, 123)
        for split in 0...Self.curlGET.count {
            let s = try server()
            let events = try feed(s, Self.curlGET, split: split)
            XCTAssertEqual(events.count, 1, "split \(split)")
            guard case .headers(let stream, let block, let category, let endStream) = events.first else {
                return XCTFail("split \(split): \(events)")
            }
            XCTAssertEqual(stream, 1)
            XCTAssertEqual(category, .request)
            XCTAssertTrue(endStream)
            XCTAssertEqual(block.text(of: ":method"), "GET")
            XCTAssertEqual(block.text(of: ":path"), "/anything/x")
            XCTAssertEqual(block.text(of: ":authority"), "127.0.0.1:18080")
            XCTAssertEqual(block.text(of: "x-test"), "1")
            // Our SETTINGS, the connection WINDOW_UPDATE, then the ACK of curl's SETTINGS.
            let out = try output(s)
            XCTAssertEqual(Array(out[3..<5]), [0x04, 0x00], "SETTINGS first")
            XCTAssertTrue(Self.frames(out).contains { $0.type == 4 && $0.flags == 1 }, "SETTINGS ACK")
            XCTAssertTrue(Self.frames(out).contains { $0.type == 8 && $0.stream == 0 }, "connection WINDOW_UPDATE")
        }
    }

    func testCurlPOSTAtEverySplitPoint() throws {
        for split in 0...Self.curlPOST.count {
            let s = try server()
            let events = try feed(s, Self.curlPOST, split: split)
            guard case .headers(1, let block, .request, false) = events.first else {
                return XCTFail("split \(split): \(events)")
            }
            XCTAssertEqual(block.text(of: ":method"), "POST")
            XCTAssertEqual(block.text(of: "content-length"), "11")
            let body = events.compactMap { e -> [UInt8]? in if case .data(1, let b) = e { return b } else { return nil }
            }
            XCTAssertEqual(String(decoding: body.joined(), as: UTF8.self), "hello=world", "split \(split)")
            XCTAssertEqual(events.last, .endStream(stream: 1))
        }
    }

    func testNghttpTwoStreamsAtEverySplitPoint() throws {
        XCTAssertEqual(Self.nghttpTwoStreams.count, 193)
        for split in 0...Self.nghttpTwoStreams.count {
            let s = try server()
            let events = try feed(s, Self.nghttpTwoStreams, split: split)
            let requests = events.compactMap { e -> (Int32, String?)? in
                if case .headers(let id, let b, .request, true) = e { return (id, b.text(of: ":path")) }
                return nil
            }
            XCTAssertEqual(requests.map(\.0), [13, 15], "split \(split)")
            XCTAssertEqual(requests.map(\.1), ["/a", "/b?x=1"], "split \(split)")
            XCTAssertEqual(events.count, 2, "split \(split): \(events)")
            let out = try output(s)
            XCTAssertEqual(Self.frames(out).filter { $0.type == 4 }.count, 2, "our SETTINGS and the ACK")
        }
    }

    func testBadPrefaceFails() throws {
        let s = try server()
        let junk = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        XCTAssertThrowsError(try junk.withUnsafeBytes { try s.receive($0) })
    }

    /// Client and server sessions back to back: request, response with body and trailers.
    func testRoundTripWithTrailers() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try server()
        let id = try client.submitRequest(
            HTTP2HeaderBlock([
                (":method", "POST"), (":scheme", "http"),
                (":authority", "a"), (":path", "/p.S/M"),
                ("content-type", "application/grpc"),
            ]), hasBody: true)
        client.append(stream: id, Array("ping".utf8))
        client.end(stream: id)
        try pump(client, server)
        var events = server.takeEvents()
        XCTAssertTrue(events.contains(.data(stream: id, bytes: Array("ping".utf8))))
        XCTAssertTrue(events.contains(.endStream(stream: id)))
        try server.submitResponse(
            stream: id, HTTP2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")]),
            hasBody: true)
        server.append(stream: id, Array("pong".utf8))
        server.end(stream: id, trailers: HTTP2HeaderBlock([("grpc-status", "0")]))
        try pump(client, server)
        events = client.takeEvents()
        XCTAssertTrue(
            events.contains {
                if case .headers(id, let b, .response, false) = $0 { return b.text(of: ":status") == "200" };
                return false
            })
        XCTAssertTrue(events.contains(.data(stream: id, bytes: Array("pong".utf8))))
        XCTAssertTrue(
            events.contains {
                if case .headers(id, let b, .trailers, true) = $0 { return b.text(of: "grpc-status") == "0" };
                return false
            })
        XCTAssertTrue(events.contains(.closed(stream: id, errorCode: 0)))
    }

    /// Without `consume`, a sender stops at the receiver's stream window: flow control is the
    /// backpressure, nothing beyond it is buffered.
    /// The frames a session queued, as (type, stream, payload).
    private func frames(_ bytes: [UInt8]) -> [(type: UInt8, stream: UInt32, payload: [UInt8])] {
        var out: [(UInt8, UInt32, [UInt8])] = []
        var i = 0
        while i + 9 <= bytes.count {
            let length = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            let stream =
                (UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8
                    | UInt32(bytes[i + 8])) & 0x7FFF_FFFF
            out.append((bytes[i + 3], stream, Array(bytes[(i + 9)..<min(bytes.count, i + 9 + length)])))
            i += 9 + length
        }
        return out
    }

    private func be32(_ b: ArraySlice<UInt8>) -> UInt32 {
        b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    func testConfiguredLimitsAreWhatTheServerAdvertises() throws {
        let limits = try HTTP2Limits.withOptions(
            maxConcurrentStreams: 7, maxRequestHeadersKB: 16,
            initialStreamWindowSize: 100_000,
            initialConnectionWindowSize: 4 << 20)
        let s = try HTTP2Session(role: .server, limits: limits, clock: ManualClock(startNs: 0))
        let out = frames(try output(s))
        let settings = try XCTUnwrap(out.first { $0.type == 4 && $0.stream == 0 })
        var advertised: [UInt16: UInt32] = [:]
        for at in stride(from: 0, to: settings.payload.count, by: 6) {
            let p = settings.payload[at..<(at + 6)]
            advertised[UInt16(p[at]) << 8 | UInt16(p[at + 1])] = be32(p[(at + 2)...])
        }
        XCTAssertEqual(advertised[3], 7, "SETTINGS_MAX_CONCURRENT_STREAMS")
        XCTAssertEqual(advertised[4], 100_000, "SETTINGS_INITIAL_WINDOW_SIZE")
        XCTAssertEqual(advertised[6], 16 * 1024, "SETTINGS_MAX_HEADER_LIST_SIZE")
        let update = try XCTUnwrap(out.first { $0.type == 8 && $0.stream == 0 }, "connection WINDOW_UPDATE")
        XCTAssertEqual(be32(update.payload[0..<4]) & 0x7FFF_FFFF, UInt32((4 << 20) - 65_535))
    }

    func testFlowControlBoundsTheBody() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try server()
        let id = try client.submitRequest(
            HTTP2HeaderBlock([
                (":method", "POST"), (":scheme", "http"),
                (":authority", "a"), (":path", "/"),
            ]), hasBody: true)
        client.append(stream: id, [UInt8](repeating: 7, count: 1 << 20))
        try pump(client, server)
        var received = server.takeEvents().reduce(0) { n, e in
            if case .data(_, let b) = e { return n + b.count }; return n
        }
        XCTAssertEqual(received, Int(HTTP2Limits.default.initialStreamWindow))
        XCTAssertEqual(client.queued(stream: id), (1 << 20) - received)
        server.consume(stream: id, received)
        try pump(client, server)
        received += server.takeEvents().reduce(0) { n, e in
            if case .data(_, let b) = e { return n + b.count }; return n
        }
        XCTAssertEqual(received, 2 * Int(HTTP2Limits.default.initialStreamWindow))
    }

    func testHeaderListLimit() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try server()
        let big = String(repeating: "a", count: 15500)
        var block = HTTP2HeaderBlock([(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/")])
        for i in 0..<4 { block.append(name: "x-big-\(i)", value: big) }
        _ = try client.submitRequest(block, hasBody: false)
        try pump(client, server)
        let events = server.takeEvents()
        guard case .headers(_, let got, .request, true)? = events.first else { return XCTFail("\(events)") }
        XCTAssertTrue(got.overflowed)
    }

    func testPingFloodIsFlagged() throws {
        let s = try server()
        try Self.curlGET.withUnsafeBytes { try s.receive($0) }
        let ping: [UInt8] = [0, 0, 8, 6, 0, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 8)
        for _ in 0..<11 {
            // The ACKs are read between batches, so this is nghttp2's outbound-ACK limit not firing.
            _ = try output(s)
            let batch = Array([[UInt8]](repeating: ping, count: 100).joined())
            try batch.withUnsafeBytes { try s.receive($0) }
        }
        XCTAssertEqual(s.guardian.violation, .pingFlood)
    }

    /// A peer that never reads its PING ACKs: nghttp2's `max_outbound_ack` ends the session.
    func testUnreadPingAcksEndTheSession() throws {
        let s = try server()
        var bytes = Array(Self.curlGET)
        for _ in 0..<1100 { bytes += [0, 0, 8, 6, 0, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 8) }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try s.receive($0) })
    }

    func testEmptyDataFloodIsFlagged() throws {
        let s = try server()
        try Self.curlPOST.dropLast(20).withUnsafeBytes { try s.receive($0) }
        XCTAssertNil(s.guardian.violation)
        var bytes: [UInt8] = []
        for _ in 0..<3 { bytes += [0, 0, 0, 0, 0, 0, 0, 0, 1] }
        try bytes.withUnsafeBytes { try s.receive($0) }
        XCTAssertEqual(s.guardian.violation, .emptyFrames)
    }

    func testRapidResetIsFlagged() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
        let head = HTTP2HeaderBlock([(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/")])
        for _ in 0..<600 {
            let id = try client.submitRequest(head, hasBody: false)
            try pump(client, server)
            client.reset(stream: id, errorCode: 8)
            try pump(client, server)
            _ = server.takeEvents()
            _ = client.takeEvents()
            if server.guardian.violation != nil { break }
        }
        XCTAssertEqual(server.guardian.violation, .rapidReset)
        XCTAssertGreaterThanOrEqual(server.guardian.streamsOpened, 500)
    }

    // MARK: issue 14: provoked resets, 1-byte DATA, stall option

    /// Streams made malformed on purpose (here: more DATA than their content-length, which
    /// nghttp2 answers with RST_STREAM PROTOCOL_ERROR) count like resets the peer sends.
    func testStreamsWeResetAsMalformedCountTowardTheRapidResetBudget() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try server()
        let head = HTTP2HeaderBlock([
            (":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/"), ("content-length", "1"),
        ])
        for _ in 0..<600 {
            let id = try client.submitRequest(head, hasBody: true)
            client.append(stream: id, [1, 2])
            client.end(stream: id)
            try pump(client, server)
            _ = server.takeEvents()
            _ = client.takeEvents()
            if server.guardian.violation != nil { break }
        }
        XCTAssertEqual(server.guardian.violation, .rapidReset)
        XCTAssertEqual(server.guardian.streamsOpened, 500)
        XCTAssertEqual(server.guardian.malformedStreams, 500)
    }

    func testMalformedStreamsNotedByTheHandlerCountToo() throws {
        let s = try server()
        var guardian = HTTP2FloodGuard(limits: .default)
        for _ in 0..<499 {
            guardian.streamOpened()
            guardian.streamMalformed()
        }
        XCTAssertNil(guardian.violation, "under prematureResetMinStreams")
        guardian.streamOpened()
        guardian.streamMalformed()
        XCTAssertEqual(guardian.violation, .rapidReset)
        s.noteMalformedStream()
        XCTAssertEqual(s.guardian.malformedStreams, 1)
        XCTAssertEqual(s.guardian.prematureResets, 1)
    }

    /// 3000 DATA frames of 1 byte in one read are one `.data` event, and queued 1-byte appends
    /// leave in one DATA frame.
    func testOneByteDataFramesAreCoalesced() throws {
        let client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let server = try server()
        let id = try client.submitRequest(
            HTTP2HeaderBlock([(":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/")]),
            hasBody: true)
        var bytes = try output(client)  // preface, SETTINGS, HEADERS
        for _ in 0..<3000 { bytes += [0, 0, 1, 0, 0, 0, 0, 0, UInt8(id), 0x61] }
        try bytes.withUnsafeBytes { try server.receive($0) }
        let data = server.takeEvents().compactMap { e -> [UInt8]? in
            if case .data(id, let b) = e { return b } else { return nil }
        }
        XCTAssertEqual(data.map(\.count), [3000], "one event")

        let sender = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        let stream = try sender.submitRequest(
            HTTP2HeaderBlock([(":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/")]),
            hasBody: true)
        for _ in 0..<3000 { sender.append(stream: stream, [0x62]) }
        XCTAssertEqual(sender.outboxes[stream]?.chunkCount, 1, "one chunk")
        let out = frames(Array(try output(sender).dropFirst(24)))
        XCTAssertEqual(out.filter { $0.type == 0 }.map(\.payload.count), [3000], "one DATA frame")
    }

    func testStallTimeoutOption() throws {
        XCTAssertEqual(HTTP2Limits.default.streamStallTimeoutNs, 30_000_000_000)
        XCTAssertEqual(try HTTP2Limits.withOptions(streamStallTimeoutMs: 1500).streamStallTimeoutNs, 1_500_000_000)
        XCTAssertThrowsError(try HTTP2Limits.withOptions(streamStallTimeoutMs: 0))
        XCTAssertThrowsError(try HTTP2Limits.withOptions(streamStallTimeoutMs: 3_600_001))
    }

    /// Moves bytes both ways until both sides are quiet.
    private func pump(_ a: HTTP2Session, _ b: HTTP2Session) throws {
        for _ in 0..<100 {
            let ab = try output(a)
            let ba = try output(b)
            if ab.isEmpty && ba.isEmpty { return }
            try ab.withUnsafeBytes { try b.receive($0) }
            try ba.withUnsafeBytes { try a.receive($0) }
        }
    }

    struct Frame { var type: UInt8; var flags: UInt8; var stream: UInt32 }

    static func frames(_ bytes: [UInt8]) -> [Frame] {
        var out: [Frame] = []
        var i = 0
        while i + 9 <= bytes.count {
            let len = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            let stream =
                UInt32(bytes[i + 5] & 0x7F) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8
                | UInt32(bytes[i + 8])
            out.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream))
            i += 9 + len
        }
        return out
    }
}

/// Gather mode (`HTTP2Session(gather: true)`, the observer's): the same bytes on the wire as the
/// copying mode, with flow control, a batch limit, a reader that returns credit late, and a
/// stream reset while its DATA frame waits for room in the batch.
final class HTTP2SessionGatherTests: XCTestCase {
    static let request = HTTP2HeaderBlock([
        (":method", "POST"), (":scheme", "http"), (":authority", "a"), (":path", "/observer.Observer/GetFlows"),
        ("content-type", "application/grpc"),
    ])
    static let ok = HTTP2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")])

    /// Messages of many sizes (1 byte to 3 KiB), each array distinct.
    static func messages(_ n: Int, size: ((Int) -> Int)? = nil) -> [[UInt8]] {
        (0..<n).map { i in
            let count = size?(i) ?? 1 + (i * 7919) % 3000
            return (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
        }
    }

    private func gathered(_ s: HTTP2Session, limit: Int = 1 << 30) throws -> [UInt8] {
        let batch = HTTP2WriteBatch()
        try s.produce(into: batch, limit: limit)
        return HTTP2WriteBatchTests.drain(batch, step: 4093)
    }

    private func copied(_ s: HTTP2Session) throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try s.produce() { out.append(contentsOf: chunk) }
        return out
    }

    private func client(window: Int32? = nil) throws -> HTTP2Session {
        var limits = HTTP2Limits.default
        if let window { limits.initialStreamWindow = window }
        return try HTTP2Session(role: .client, limits: limits, clock: ManualClock(startNs: 0))
    }

    private func body(_ events: [HTTP2Event], stream: Int32) -> [UInt8] {
        events.reduce(into: []) { out, e in if case .data(stream, let b) = e { out += b } }
    }

    func testSameBytesAsTheCopyingMode() throws {
        let c = try client()
        let id = try c.submitRequest(Self.request, hasBody: false)
        let hello = try copied(c)
        let plain = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
        let gather = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0), gather: true)
        let messages = Self.messages(150)
        for s in [plain, gather] {
            try hello.withUnsafeBytes { try s.receive($0) }
            try s.submitResponse(stream: id, Self.ok, hasBody: true)
            for m in messages { XCTAssertTrue(s.append(stream: id, m)) }
            s.end(stream: id, trailers: HTTP2HeaderBlock([("grpc-status", "0")]))
        }
        let expected = try copied(plain)
        let got = try gathered(gather)
        XCTAssertGreaterThan(HTTP2SessionTests.frames(got).filter { $0.type == 0 }.count, 10, "many DATA frames")
        XCTAssertEqual(got.count, expected.count)
        XCTAssertTrue(got == expected, "the copying mode's bytes")
        try got.withUnsafeBytes { try c.receive($0) }
        let events = c.takeEvents()
        XCTAssertTrue(body(events, stream: id) == Array(messages.joined()))
        XCTAssertTrue(events.contains(.closed(stream: id, errorCode: 0)))
        XCTAssertEqual(gather.outboxes.count, 0)
        XCTAssertNil(gather.sending)
    }

    /// A reader with a 3,000-byte stream window that returns credit only after it has read: the
    /// server sends no more than the window, gathers nothing while it is closed (appends go on
    /// queueing), and every byte arrives in order once credit comes; messages split across frames.
    func testAWindowThatOpensLater() throws {
        let c = try client(window: 3000)
        let s = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0), gather: true)
        let id = try c.submitRequest(Self.request, hasBody: false)
        try copied(c).withUnsafeBytes { try s.receive($0) }
        try s.submitResponse(stream: id, Self.ok, hasBody: true)
        let messages = Self.messages(40) { _ in 958 }
        for m in messages[..<20] { s.append(stream: id, m) }
        var received: [UInt8] = []
        var rounds = 0
        while received.count < 40 * 958 {
            rounds += 1
            XCTAssertLessThan(rounds, 100)
            let out = try gathered(s)
            let data = HTTP2SessionTests.frames(out).filter { $0.type == 0 }
            XCTAssertLessThanOrEqual(data.count, 1, "round \(rounds): one window's worth")
            try out.withUnsafeBytes { try c.receive($0) }
            let got = body(c.takeEvents(), stream: id)
            XCTAssertLessThanOrEqual(got.count, 3000)
            received += got
            // The window is shut now: more appends queue, nothing leaves.
            if rounds == 3 {
                for m in messages[20...] { s.append(stream: id, m) }
                let stuck = try gathered(s)
                XCTAssertTrue(HTTP2SessionTests.frames(stuck).allSatisfy { $0.type != 0 }, "no DATA without credit")
                XCTAssertEqual(s.queued(stream: id), 40 * 958 - received.count)
            }
            c.consume(stream: id, got.count)
            try copied(c).withUnsafeBytes { try s.receive($0) }
        }
        XCTAssertTrue(received == Array(messages.joined()), "every byte, in order")
        XCTAssertEqual(s.queued(stream: id), 0)
    }

    /// A batch limit below a frame: each call gathers one DATA frame (never split), the next is
    /// left in nghttp2 and offered again.
    func testTheBatchLimitHoldsTheNextFrame() throws {
        let c = try client()
        let s = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0), gather: true)
        let id = try c.submitRequest(Self.request, hasBody: false)
        try copied(c).withUnsafeBytes { try s.receive($0) }
        try s.submitResponse(stream: id, Self.ok, hasBody: true)
        let messages = Self.messages(60)
        for m in messages { s.append(stream: id, m) }
        s.end(stream: id)
        var out: [UInt8] = []
        for _ in 0..<200 {
            let next = try gathered(s, limit: 1)
            if next.isEmpty { break }
            XCTAssertLessThanOrEqual(HTTP2SessionTests.frames(next).filter { $0.type == 0 }.count, 1)
            out += next
        }
        try out.withUnsafeBytes { try c.receive($0) }
        let events = c.takeEvents()
        XCTAssertTrue(body(events, stream: id) == Array(messages.joined()))
        XCTAssertTrue(events.contains(.endStream(stream: id)))
    }

    /// The client resets one of two streams while that stream's DATA frame waits for room in the
    /// batch: the frame is dropped (nothing more leaves on the reset stream, its queue is gone),
    /// the other stream's bytes all arrive in order, and the session goes on.
    func testAStreamResetWhileItsFrameWaits() throws {
        let c = try client(window: 20_000)
        let s = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0), gather: true)
        let a = try c.submitRequest(Self.request, hasBody: false)
        let b = try c.submitRequest(Self.request, hasBody: false)
        try copied(c).withUnsafeBytes { try s.receive($0) }
        let messages = Self.messages(30) { _ in 958 }
        for id in [a, b] {
            try s.submitResponse(stream: id, Self.ok, hasBody: true)
            for m in messages { s.append(stream: id, m) }
            s.end(stream: id, trailers: HTTP2HeaderBlock([("grpc-status", "0")]))
        }
        var received: [Int32: [UInt8]] = [a: [], b: []]
        var waited = false
        for _ in 0..<50 {
            let out = try gathered(s, limit: 1)
            try out.withUnsafeBytes { try c.receive($0) }
            let events = c.takeEvents()
            for id in [a, b] { received[id]! += body(events, stream: id) }
            c.consume(stream: b, body(events, stream: b).count)
            try copied(c).withUnsafeBytes { try s.receive($0) }
            if let sending = s.sending, sending === s.outboxes[a], !received[a]!.isEmpty {
                waited = true
                break
            }
        }
        XCTAssertTrue(waited, "a's frame waited for room")
        let sentToA = received[a]!.count
        c.reset(stream: a, errorCode: 8)
        try copied(c).withUnsafeBytes { try s.receive($0) }
        XCTAssertTrue(
            s.takeEvents().contains {
                if case .closed(a, _) = $0 { return true }; return false
            })
        XCTAssertEqual(s.queued(stream: a), 0)
        XCTAssertFalse(s.append(stream: a, [1, 2, 3]), "no queue for a reset stream")
        for _ in 0..<50 {
            let out = try gathered(s)
            if out.isEmpty { break }
            XCTAssertFalse(
                HTTP2SessionTests.frames(out).contains { $0.type == 0 && $0.stream == UInt32(a) },
                "DATA after the reset")
            try out.withUnsafeBytes { try c.receive($0) }
            let events = c.takeEvents()
            received[b]! += body(events, stream: b)
            c.consume(stream: b, body(events, stream: b).count)
            try copied(c).withUnsafeBytes { try s.receive($0) }
        }
        XCTAssertEqual(received[a]!.count, sentToA)
        XCTAssertTrue(received[a]! == Array(Array(messages.joined())[..<sentToA]), "a: a prefix, in order")
        XCTAssertEqual(received[b]!.count, 30 * 958)
        XCTAssertTrue(received[b]! == Array(messages.joined()), "b: everything, in order")
        XCTAssertTrue(s.isAlive)
    }
}
