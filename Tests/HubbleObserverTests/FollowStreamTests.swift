import Flows
import Glibc
import HTTP2
import HubbleProto
import SluiceIO
import SluiceModel
import XCTest

@testable import HubbleObserver

/// A follow client that does not read: the stream's queue stops at its bound and the rest is
/// counted as lost, then reported once the client reads again.
final class FollowStreamTests: XCTestCase {
    func testASlowFollowerIsBoundedAndToldWhatItLost() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client(timeoutMs: 10_000)
        var request = GetFlowsRequest()
        request.follow = true
        var big = TestServer.flow(1)
        big.destinationNames = [String](repeating: String(repeating: "x", count: 200), count: 50)
        let perFlow = GetFlowsResponse.flow(big).count
        let total = 4 * FollowStream.maxQueuedBytes / perFlow
        let feeder = try server.feedOnceListening {
            // The client is blocked in its first read of the stream and has not read: flows pile up.
            server.ingest([TestServer.flow(0)] + [Flow](repeating: big, count: total) + [TestServer.flow(99)])
        }
        var flows = 0
        var lost: UInt64 = 0
        var sawLast = false
        var sawLost = false
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            switch try GetFlowsResponse.decode($0) {
            case .flow(let f):
                flows += 1
                if f.time.seconds == 99 { sawLast = true }
                XCTAssertFalse(sawLost && f.time.seconds != 99, "flows after the loss are the newest ones")
            case .lost(let l):
                XCTAssertEqual(l.source, .observerEventsQueue)
                lost += l.count
                sawLost = true
            case .other: break
            }
            if flows == 1 { feeder.join() }  // read nothing more until every flow was offered
            return UInt64(flows) + lost < UInt64(total + 2)
        }
        XCTAssertTrue(sawLost, "the loss is reported once the queue drained")
        XCTAssertGreaterThan(lost, 0, "some flows did not fit")
        XCTAssertEqual(UInt64(flows) + lost, UInt64(total + 2), "every flow was either sent or counted lost")
    }
}

/// A follow client that resets its connection while its stream's queue is nearly full: the next
/// burst writes the full queue out (`FollowStream.admit`), the write fails and closes the
/// connection, and the stream stops there (before s18-obs2 it read the closed connection's queue
/// next, through an unowned reference to a connection already gone: a crash). The observer goes on.
final class FollowStreamResetTests: XCTestCase {
    func testAClientResetWhileTheQueueIsFullEndsOnlyItsStream() throws {
        let server = try TestServer()
        defer { server.stop() }
        // A raw HTTP/2 client with huge windows that never reads.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = server.port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        var limits = HTTP2Limits.default
        limits.initialStreamWindow = 1 << 30
        limits.connectionWindow = 1 << 30
        let client = try HTTP2Session(role: .client, limits: limits, clock: ManualClock(startNs: 0))
        var request = GetFlowsRequest()
        request.follow = true
        let id = try client.submitRequest(
            HTTP2HeaderBlock([
                (":method", "POST"), (":scheme", "http"), (":authority", "a"),
                (":path", "/observer.Observer/GetFlows"), ("content-type", "application/grpc"),
            ]), hasBody: true)
        client.append(stream: id, GRPCWire.frame(request.bytes))
        client.end(stream: id)
        while let chunk = try client.produce() {
            XCTAssertEqual(send(fd, chunk.baseAddress, chunk.count, 0), chunk.count)
        }
        let deadline = SystemClock.monotonicNs() + 5_000_000_000
        while server.sync({ server.observer.listenerCount }) == 0 && SystemClock.monotonicNs() < deadline {
            usleep(2_000)
        }
        XCTAssertEqual(server.sync { server.observer.listenerCount }, 1)
        var big = TestServer.flow(1)
        big.destinationNames = [String](repeating: String(repeating: "x", count: 200), count: 50)
        func queued() -> Int {
            server.sync {
                guard let c = server.service.connections.values.first, let call = c.calls.values.first else { return 0 }
                return c.queued(call)
            }
        }
        // Fill the socket, then the stream's queue to between half and all of its bound.
        var batches = 0
        while queued() < FollowStream.maxQueuedBytes / 2 && batches < 2_000 {
            server.ingest([Flow](repeating: big, count: 8))
            batches += 1
        }
        XCTAssertGreaterThanOrEqual(queued(), FollowStream.maxQueuedBytes / 2)
        XCTAssertLessThan(queued(), FollowStream.maxQueuedBytes)
        // The reset and the burst in one loop turn: the connection hears of the reset only from
        // the write the full queue makes.
        server.sync {
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            close(fd)
            for _ in 0..<200 { server.observer.ingest(big) }
        }
        XCTAssertEqual(server.sync { server.service.connectionCount }, 0, "the reset connection is closed")
        XCTAssertEqual(server.sync { server.observer.listenerCount }, 0)
        XCTAssertEqual(try server.client().unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01], "still serving")
    }
}

/// Follow streams share one encoding of each flow.
final class SharedFlowEncodingTests: XCTestCase {
    func testOneFlowIsEncodedOnceForEveryStreamAndEachNewFlowAgain() {
        let encoding = SharedFlowEncoding()
        let first = TestServer.flow(1)
        let a = encoding.framed(first, index: 1)
        let b = encoding.framed(first, index: 1)
        XCTAssertEqual(encoding.encoded, 1)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, GRPCWire.frame(GetFlowsResponse.flow(first)))
        let second = TestServer.flow(2)
        XCTAssertEqual(encoding.framed(second, index: 2), GRPCWire.frame(GetFlowsResponse.flow(second)))
        XCTAssertEqual(encoding.encoded, 2)
    }
}

/// Follow streams fed records (as the observer's poll feeds them): every flow a stream sends is
/// the message the decoded path sends (the record encoder's bytes where it covers the kind, the
/// decoded flow's otherwise, DNS), with and without filters and a field mask, and the same flows
/// pass the filters.
final class FollowFromRecordsTests: XCTestCase {
    static func expected(_ raws: [RawFlow], _ request: GetFlowsRequest) throws -> [[UInt8]] {
        let query = try FlowQuery(request)
        return raws.map { $0.decode() }.filter(query.wants).map {
            Array(query.framed($0).dropFirst(5))
        }
    }

    /// Calls GetFlows `request` on `server`, feeds `raws` to its observer once the follow stream
    /// is listening, and returns the first `count` responses' messages.
    static func follow(_ server: TestServer, _ raws: [RawFlow], _ request: GetFlowsRequest, count: Int) throws
        -> [[UInt8]]
    {
        let client = try server.client(timeoutMs: 10_000)
        let feeder = try server.feedOnceListening {
            server.sync { for raw in raws { server.observer.ingest(raw) } }
        }
        var got: [[UInt8]] = []
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            got.append(Array($0))
            return got.count < count
        }
        feeder.join()
        return got
    }

    func testFollowStreamsFedRecordsSendTheDecodedPathsMessages() throws {
        let raws = RawFlowTests.raws(600, seed: 41)
        var verdicts = FlowFilter.Criteria()
        verdicts.verdict = [2]
        var pods = FlowFilter.Criteria()
        pods.sourcePod = ["frontend/"]
        var requests: [GetFlowsRequest] = []
        for (white, black, mask) in [
            ([], [], []), ([verdicts], [], []), ([], [pods], []), ([pods, verdicts], [], ["uuid", "l7", "Summary"]),
            ([], [], ["source", "time"]),
        ] as [([FlowFilter.Criteria], [FlowFilter.Criteria], [String])] {
            var r = GetFlowsRequest()
            r.follow = true
            r.whitelist = white
            r.blacklist = black
            r.fieldMask = mask
            requests.append(r)
        }
        let server = try TestServer()
        defer { server.stop() }
        for request in requests {
            let want = try Self.expected(raws, request)
            XCTAssertGreaterThan(want.count, 20)
            let got = try Self.follow(server, raws, request, count: want.count)
            XCTAssertEqual(got.count, want.count)
            for i in 0..<min(got.count, want.count) where got[i] != want[i] {
                XCTFail(
                    "flow \(i) of \(request.whitelist.count)/\(request.blacklist.count)/\(request.fieldMask) differs")
                break
            }
            // The stream has ended on the client's side; the next request's stream starts after it.
            let deadline = SystemClock.monotonicNs() + 5_000_000_000
            while server.sync({ server.observer.listenerCount }) != 0 && SystemClock.monotonicNs() < deadline {
                usleep(2_000)
            }
        }
        let encoding = server.service.followEncoding
        let (fallbacks, decodes) = server.sync { (encoding.fallbacks, encoding.decodes) }
        XCTAssertGreaterThan(fallbacks, 0, "DNS records took the decoded path")
        XCTAssertGreaterThan(decodes, 0)
    }

    /// Without filters only the records the encoder leaves out are decoded.
    func testUnfilteredStreamsDecodeOnlyWhatTheEncoderLeavesOut() {
        let encoding = SharedFlowEncoding()
        let raws = RawFlowTests.raws(500, seed: 8)
        var declined = 0
        for (i, raw) in raws.enumerated() {
            let index = UInt64(i + 1)
            let (first, second) = withUnsafePointer(to: raw.record) { p in
                let ref = FlowRecordRef(pointer: p, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs, context: raw.context)
                let first = encoding.framed(record: ref, index: index)
                return (first, first == nil ? nil : encoding.framed(record: ref, index: index))
            }
            if let framed = first {
                XCTAssertEqual(framed, GetFlowsResponse.framedFlow(raw.decode()))
                XCTAssertEqual(second, framed, "the second stream shares it")
            } else {
                declined += 1
                XCTAssertEqual(
                    raw.record.l7_proto, Flow.L7Protocol.dns.rawValue, "only DNS records take the decoded path")
            }
        }
        XCTAssertEqual(encoding.fallbacks, declined)
        XCTAssertGreaterThan(declined, 0)
        XCTAssertEqual(encoding.encoded, raws.count - declined)
        XCTAssertEqual(encoding.decodes, 0)
    }
}

/// A burst of flows on a follow stream leaves in few writes: nghttp2's frames are gathered up
/// to `GRPCConnection.writeBatch` bytes per write, and every flow arrives, in order.
final class FollowWriteBatchingTests: XCTestCase {
    func testABurstOfFlowsLeavesInFewerWritesThanFrames() throws {
        // Fewer bytes than a stream may queue (`FollowStream.maxQueuedBytes`): none is dropped.
        let raws = RawFlowTests.raws(1_200, seed: 12)
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client(timeoutMs: 10_000)
        var request = GetFlowsRequest()
        request.follow = true
        let feeder = try server.feedOnceListening {
            server.sync { for raw in raws { server.observer.ingest(raw) } }
        }
        var seqs: [UInt64] = []
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            if case .flow(let f) = try GetFlowsResponse.decode($0) {
                seqs.append(UInt64(f.uuid.suffix(12), radix: 16) ?? 0)
            }
            return seqs.count < raws.count
        }
        feeder.join()
        XCTAssertEqual(seqs, raws.map(\.seq), "every flow, in ring order")
        let (writes, frames) = server.sync {
            let c = server.service.connections.values.first
            return (c?.writes ?? 0, c?.framesProduced ?? 0)
        }
        XCTAssertGreaterThan(frames, 20, "the burst took many DATA frames")
        XCTAssertLessThan(writes * 2, frames, "\(writes) writes for \(frames) frames")
    }
}

/// Verdict and direction filters are evaluated on the record: the same flows pass as through the
/// clause engine on the decoded flow; any other field leaves the decision to the decoded flow.
final class RecordFilterTests: XCTestCase {
    func testVerdictAndDirectionFiltersOnRecordsPassWhatTheDecodedFlowsPass() throws {
        func criteria(verdicts: [UInt64] = [], directions: [UInt64] = []) -> FlowFilter.Criteria {
            var c = FlowFilter.Criteria()
            c.verdict = verdicts
            c.trafficDirection = directions
            return c
        }
        let lists: [[FlowFilter.Criteria]] = [
            [], [criteria(verdicts: [1])], [criteria(verdicts: [2, 5])], [criteria(directions: [1])],
            [criteria(verdicts: [1], directions: [2])], [criteria(verdicts: [3]), criteria(directions: [0])],
            [criteria(verdicts: [0])], [criteria(directions: [2, 7])],
        ]
        let raws = RawFlowTests.raws(2_000, seed: 23)
        var checked = 0
        for white in lists {
            for black in lists {
                var request = GetFlowsRequest()
                request.follow = true
                request.whitelist = white
                request.blacklist = black
                let query = try FlowQuery(request)
                var passed = 0
                for raw in raws {
                    let onRecord = withUnsafePointer(to: raw.record) { query.passes(record: $0) }
                    XCTAssertEqual(onRecord, query.wants(raw.decode()))
                    if onRecord == true { passed += 1 }
                    checked += 1
                }
                if white.isEmpty && black.isEmpty { XCTAssertEqual(passed, raws.count) }
            }
        }
        XCTAssertEqual(checked, lists.count * lists.count * raws.count)
        var pods = FlowFilter.Criteria()
        pods.sourcePod = ["frontend/"]
        var mixed = criteria(verdicts: [1])
        mixed.httpMethod = ["GET"]
        for other in [[pods], [mixed], [criteria(verdicts: [1]), pods]] {
            var request = GetFlowsRequest()
            request.whitelist = other
            XCTAssertNil(withUnsafePointer(to: raws[0].record) { try! FlowQuery(request).passes(record: $0) })
        }
    }

    /// A follow stream with only verdict filters decodes no record it encodes from the record.
    func testAVerdictFilteredStreamDecodesNothingButDNS() throws {
        let raws = RawFlowTests.raws(600, seed: 41)
        var request = GetFlowsRequest()
        request.follow = true
        var dropped = FlowFilter.Criteria()
        dropped.verdict = [2]
        request.whitelist = [dropped]
        let want = try FollowFromRecordsTests.expected(raws, request)
        let server = try TestServer()
        defer { server.stop() }
        let got = try FollowFromRecordsTests.follow(server, raws, request, count: want.count)
        XCTAssertEqual(got, want)
        let encoding = server.service.followEncoding
        let (decodes, fallbacks) = server.sync { (encoding.decodes, encoding.fallbacks) }
        XCTAssertEqual(decodes, fallbacks, "only the DNS records the encoder left out were decoded")
    }
}

/// The responses a follow stream queues in one loop turn share one array (`FollowStream.batchBytes`):
/// handed to the connection and written out when full, handed on before anything else the call
/// sends (a lost-event count) and when the connection flushes. The client gets every flow and the
/// count, in their order.
final class FollowBatchTests: XCTestCase {
    func testFlowsOfOneTurnShareABatchAndKeepTheirOrderAroundALostEvent() throws {
        let raws = RawFlowTests.raws(2_200, seed: 77)
        var request = GetFlowsRequest()
        request.follow = true
        let query = try FlowQuery(request)
        let want = raws.map { query.framed($0.decode()) }
        // The longest run of first flows that fits in one batch.
        var first = 0
        var firstBytes = 0
        while firstBytes + want[first].count < FollowStream.batchBytes - 4096 {
            firstBytes += want[first].count
            first += 1
        }
        XCTAssertGreaterThan(first, 10)
        let restBytes = want[first...].reduce(0) { $0 + $1.count }
        XCTAssertGreaterThan(restBytes, FollowStream.batchBytes, "the rest fills a batch")
        // Below the queue bound (which writes a full queue out first): only a full batch writes.
        XCTAssertLessThan(restBytes, FollowStream.maxQueuedBytes, "the rest stays under the queue bound")
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client(timeoutMs: 10_000)
        var seen: (batched: Int, inSession: Int, afterLost: Int, restBatched: Int, restWrites: Int)?
        let feeder = try server.feedOnceListening {
            seen = server.sync {
                let connection = server.service.connections.values.first!
                let call = connection.calls.values.first!
                let session = connection.sessionQueued(call)
                for raw in raws[..<first] { server.observer.ingest(raw) }
                let batched = call.follow?.batchedBytes ?? -1
                let inSession = connection.sessionQueued(call) - session
                server.observer.ingestLost(7)
                let afterLost = call.follow?.batchedBytes ?? -1
                let writes = connection.writes
                for raw in raws[first...] { server.observer.ingest(raw) }
                return (batched, inSession, afterLost, call.follow?.batchedBytes ?? -1, connection.writes - writes)
            }
        }
        var got: [[UInt8]] = []
        var lost: [LostEvent] = []
        var lostAt = -1
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            switch try GetFlowsResponse.decode($0) {
            case .flow: got.append(Array($0))
            case .lost(let event):
                lost.append(event)
                lostAt = got.count
            case .other: XCTFail("an unexpected response")
            }
            return got.count < raws.count
        }
        feeder.join()
        let s = try XCTUnwrap(seen)
        XCTAssertEqual(s.batched, firstBytes, "the first flows wait in the stream's batch")
        XCTAssertEqual(s.inSession, 0, "nothing was handed to the session flow by flow")
        XCTAssertEqual(s.afterLost, 0, "the batch went ahead of the lost-event count")
        XCTAssertLessThan(s.restBatched, FollowStream.batchBytes)
        XCTAssertGreaterThanOrEqual(s.restWrites, 1, "full batches were written in the turn, not at its end")
        XCTAssertEqual(got, want.map { Array($0.dropFirst(5)) }, "every flow, in order, byte for byte")
        XCTAssertEqual(lost.map(\.count), [7])
        XCTAssertEqual(lost.first?.source, .hubbleRingBuffer)
        XCTAssertEqual(lostAt, first, "the count between the flows it came between")
    }
}

/// A follow stream keeps a few batch arrays, not one per batch of its busiest burst: once the
/// connection has written everything, the arrays it was handed are freed but
/// `FollowStream.freeLimit` (each stream kept ~1.7 MB of them before).
final class FollowBatchMemoryTests: XCTestCase {
    func testAStreamKeepsAFewBatchArraysOnceEverythingIsWritten() throws {
        let raws = RawFlowTests.raws(12_000, seed: 31)
        var request = GetFlowsRequest()
        request.follow = true
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client(timeoutMs: 10_000)
        var handedOn = 0
        let feeder = try server.feedOnceListening {
            // Turn by turn, a few batches each (the client reads meanwhile).
            for start in stride(from: 0, to: raws.count, by: 300) {
                server.sync { for raw in raws[start..<min(start + 300, raws.count)] { server.observer.ingest(raw) } }
            }
        }
        var flows = 0
        var lost: UInt64 = 0
        var kept = -1
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            switch try GetFlowsResponse.decode($0) {
            case .flow: flows += 1
            case .lost(let event): lost += event.count
            case .other: break
            }
            guard UInt64(flows) + lost < UInt64(raws.count) else {
                // Everything arrived: the server wrote it all (the call is still open).
                kept = server.sync {
                    let follow = server.service.connections.values.first?.calls.values.first?.follow
                    handedOn = follow?.batchesHandedOn ?? 0
                    return follow?.keptBytes ?? -1
                }
                return false
            }
            return true
        }
        feeder.join()
        XCTAssertEqual(UInt64(flows) + lost, UInt64(raws.count))
        // Many more batches went out than the stream may keep.
        XCTAssertGreaterThan(handedOn, 30)
        XCTAssertGreaterThanOrEqual(kept, 0)
        XCTAssertLessThanOrEqual(kept, (FollowStream.freeLimit + 1) * (FollowStream.batchBytes + 4096))
    }
}
