import Flows
import Glibc
import HubbleProto
import SluiceIO
import SluiceModel
import XCTest

@testable import HubbleObserver

final class GRPCConnectionTests: XCTestCase {
    func testDeadlinesBadRequestsAndNonGRPCRequests() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        // A request message that is not protobuf.
        XCTAssertThrowsError(try client.unary(path: "/observer.Observer/GetFlows", request: [0x0B])) {
            XCTAssertEqual(($0 as? ObserverClient.Failure)?.status, 3)
        }
        // A filter Sluice cannot apply is refused, not ignored.
        var w = ProtoWriter()
        w.message(6) { $0.string(16, "svc") }
        XCTAssertThrowsError(try client.unary(path: "/observer.Observer/GetFlows", request: w.bytes)) {
            XCTAssertEqual(
                $0 as? ObserverClient.Failure, .init(status: 3, message: "unsupported filter field: source_service"))
        }
        // The connection still serves.
        XCTAssertEqual(try client.unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01])
        // A follow stream with `until` a moment ahead ends by itself, OK.
        var request = GetFlowsRequest()
        request.follow = true
        let wall = Int64(bitPattern: SystemClock.realtimeNs())
        request.until = Flow.Timestamp(nanosecondsSinceEpoch: wall + 300_000_000)
        let started = SystemClock.monotonicNs()
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) { _ in true }
        XCTAssertGreaterThanOrEqual(SystemClock.monotonicNs() - started, 200_000_000)
    }

    func testGRPCTimeoutEndsAFollowStreamWithDeadlineExceeded() throws {
        let server = try TestServer()
        defer { server.stop() }
        let connection = try server.sync { () -> Int in server.service.connectionCount }
        XCTAssertEqual(connection, 0)
        // Python-free raw check through the client: the client sends no grpc-timeout, so a
        // per-call deadline is tested on the parsed header path with a hand-made client request.
        XCTAssertEqual(GRPCWire.timeoutNs("200m"), 200_000_000)
        let client = try server.client()
        var request = GetFlowsRequest()
        request.follow = true
        XCTAssertThrowsError(
            try client.call(path: "/observer.Observer/GetFlows", request: request.bytes, timeoutHeader: "200m") { _ in
                true
            }
        ) {
            XCTAssertEqual($0 as? ObserverClient.Failure, .init(status: 4, message: "context deadline exceeded"))
        }
        XCTAssertEqual(server.sync { server.observer.listenerCount }, 0, "the expired stream stopped listening")
    }

    func testAnIdleConnectionIsClosed() throws {
        let server = try TestServer(idleTimeoutNs: 200_000_000)
        defer { server.stop() }
        let client = try server.client()
        XCTAssertEqual(try client.unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01])
        XCTAssertEqual(server.sync { server.service.connectionCount }, 1)
        let deadline = SystemClock.monotonicNs() + 5_000_000_000
        while server.sync({ server.service.connectionCount }) != 0 && SystemClock.monotonicNs() < deadline {
            usleep(5_000)
        }
        XCTAssertEqual(server.sync { server.service.connectionCount }, 0, "closed after 200 ms without a call")
        XCTAssertThrowsError(try client.unary(path: "/grpc.health.v1.Health/Check"), "the client sees the close")
    }
}
