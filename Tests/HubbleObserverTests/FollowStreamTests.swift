import Flows
import Glibc
import HubbleProto
import SluiceIO
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
        let feeder = WorkerThread(name: "feeder") {
            let deadline = SystemClock.monotonicNs() + 5_000_000_000
            while server.sync({ server.observer.listenerCount }) == 0 && SystemClock.monotonicNs() < deadline {
                usleep(2_000)
            }
            // The client is blocked in its first read of the stream and has not read: flows pile up.
            server.ingest([TestServer.flow(0)] + [Flow](repeating: big, count: total) + [TestServer.flow(99)])
        }
        try feeder.start()
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
