import Flows
import Glibc
import HubbleProto
import SluiceIO
import SluiceModel
import XCTest

@testable import HubbleObserver

/// The Observer API end to end over loopback: the real server (nghttp2, the loop) and the
/// blocking client `sluice observe --server` uses.
final class GRPCServiceTests: XCTestCase {
    func flows(_ client: ObserverClient, _ request: GetFlowsRequest) throws -> [Flow] {
        var out: [Flow] = []
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            if case .flow(let f) = try GetFlowsResponse.decode($0) { out.append(f) }
            return true
        }
        return out
    }

    func testStatusNamespacesNodesHealthAndPeer() throws {
        let server = try TestServer(maxFlows: 2)
        defer { server.stop() }
        server.ingest([TestServer.flow(1), TestServer.flow(2), TestServer.flow(3)])
        let client = try server.client()
        var r = ProtoReader(try client.unary(path: "/observer.Observer/ServerStatus"))
        var fields: [Int: UInt64] = [:]
        var version = ""
        while let (n, v) = try r.next() {
            if case .varint(let x) = v { fields[n] = x }
            if n == 8 { version = try v.string() }
        }
        XCTAssertEqual(fields[1], 2, "num_flows")
        XCTAssertEqual(fields[2], 2, "max_flows")
        XCTAssertEqual(fields[3], 3, "seen_flows")
        XCTAssertGreaterThan(fields[4] ?? 0, 0, "uptime_ns")
        XCTAssertEqual(version, "v\(SluiceVersion.current)+sluice")

        var names: [String] = []
        var n = ProtoReader(try client.unary(path: "/observer.Observer/GetNamespaces"))
        while let (_, v) = try n.next() {
            var ns = ProtoReader(try v.payload())
            var pair: [String] = []
            while let (_, s) = try ns.next() { pair.append(try s.string()) }
            names.append(pair.joined(separator: "/"))
        }
        XCTAssertEqual(names, ["default/backend", "default/default"])

        XCTAssertThrowsError(try client.unary(path: "/observer.Observer/GetNodes")) {
            XCTAssertEqual($0 as? ObserverClient.Failure, .init(status: 12, message: "GetNodes not implemented"))
        }
        XCTAssertThrowsError(try client.unary(path: "/observer.Observer/Nope")) {
            XCTAssertEqual(
                $0 as? ObserverClient.Failure, .init(status: 12, message: "unknown method /observer.Observer/Nope"))
        }
        XCTAssertEqual(try client.unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01], "SERVING")
        var w = ProtoWriter()
        w.string(1, "nope")
        XCTAssertThrowsError(try client.unary(path: "/grpc.health.v1.Health/Check", request: w.bytes)) {
            XCTAssertEqual(($0 as? ObserverClient.Failure)?.status, 5)
        }
        var peer: [UInt8] = []
        try client.call(path: "/peer.Peer/Notify", request: []) {
            peer = Array($0)
            return false
        }
        XCTAssertEqual(peer, ChangeNotification.peerAdded(name: "node-a", address: "127.0.0.1:\(server.port)"))
        XCTAssertEqual(server.sync { server.service.connectionCount }, 1, "one connection for every call")
    }

    func testGetFlowsLastFirstSinceAndFilters() throws {
        let server = try TestServer()
        defer { server.stop() }
        server.ingest([
            TestServer.flow(1), TestServer.flow(2, pod: "other", verdict: .dropped), TestServer.flow(3),
            TestServer.flow(4),
        ])
        let client = try server.client()
        var request = GetFlowsRequest()
        request.number = 2
        XCTAssertEqual(try flows(client, request).map(\.time.seconds), [3, 4])
        request.first = true
        XCTAssertEqual(try flows(client, request).map(\.time.seconds), [1, 2])
        request = GetFlowsRequest()
        request.since = Flow.Timestamp(seconds: 2)
        request.until = Flow.Timestamp(seconds: 3)
        XCTAssertEqual(try flows(client, request).map(\.time.seconds), [2, 3])
        request = GetFlowsRequest()
        var criteria = FlowFilter.Criteria()
        criteria.verdict = [2]
        request.whitelist = [criteria]
        XCTAssertEqual(try flows(client, request).map(\.uuid), ["uuid-2"])
        criteria = FlowFilter.Criteria()
        criteria.sourcePod = ["default/cl"]
        request.whitelist = []
        request.blacklist = [criteria]
        XCTAssertEqual(try flows(client, request).map(\.time.seconds), [2])
        let all = try flows(client, GetFlowsRequest())
        XCTAssertEqual(all.first, TestServer.flow(1), "the flow comes back as it was kept")
        request = GetFlowsRequest()
        request.first = true
        request.follow = true
        XCTAssertThrowsError(try flows(client, request)) {
            XCTAssertEqual(
                $0 as? ObserverClient.Failure, .init(status: 3, message: "first cannot be specified with follow"))
        }
    }

    func testFollowSendsNewFlowsUntilTheClientCancels() throws {
        let server = try TestServer()
        defer { server.stop() }
        server.ingest([TestServer.flow(1)])
        let client = try server.client()
        var request = GetFlowsRequest()
        request.follow = true
        var criteria = FlowFilter.Criteria()
        criteria.verdict = [1]
        request.whitelist = [criteria]
        // Flows arrive once the follow stream is registered (polled, with a deadline).
        let feeder = WorkerThread(name: "feeder") {
            let deadline = SystemClock.monotonicNs() + 5_000_000_000
            while server.sync({ server.observer.listenerCount }) == 0 && SystemClock.monotonicNs() < deadline {
                usleep(2_000)
            }
            server.ingest([TestServer.flow(5), TestServer.flow(6, verdict: .dropped), TestServer.flow(7)])
        }
        try feeder.start()
        var got: [Int64] = []
        try client.call(path: "/observer.Observer/GetFlows", request: request.bytes) {
            if case .flow(let f) = try GetFlowsResponse.decode($0) { got.append(f.time.seconds) }
            return got.count < 2
        }
        feeder.join()
        XCTAssertEqual(got, [5, 7], "only new flows, filtered")
        let deadline = SystemClock.monotonicNs() + 5_000_000_000
        while server.sync({ server.observer.listenerCount }) != 0 && SystemClock.monotonicNs() < deadline {
            usleep(2_000)
        }
        XCTAssertEqual(server.sync { server.observer.listenerCount }, 0, "a cancelled follow stream stops listening")
    }

    func testGarbageIsClosedAndTheServerKeepsServing() throws {
        let server = try TestServer()
        defer { server.stop() }
        let fd = try Socket.connectTCP(address: IPv4Address(127, 0, 0, 1).networkOrder, port: server.port, mark: 0)
        defer { Socket.close(fd) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&p, 1, 5_000)
        let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0xFF, count: 100)
        _ = garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received: [UInt8] = []
        var closedByServer = false
        while true {
            p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 5_000) > 0 else { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                closedByServer = true
                break
            }
            received += buffer[0..<n]
        }
        XCTAssertTrue(closedByServer, "no HTTP/2 client magic: the server closes the connection")
        XCTAssertTrue(
            received.isEmpty || (received.count >= 9 && received[3] == 4), "at most its own SETTINGS went out")
        XCTAssertEqual(try server.client().unary(path: "/grpc.health.v1.Health/Check"), [0x08, 0x01])
    }

    func testRecordsWrittenToTheRingComeOutOfGetFlows() throws {
        let ring = try TestRing()
        defer { ring.close() }
        ring.appendTCP(srcPort: 1000)
        let server = try TestServer(pinDirectory: ring.pinDirectory)
        defer { server.stop() }
        let client = try server.client()
        var request = GetFlowsRequest()
        request.follow = true
        request.number = 10
        var ports: [UInt16] = []
        var appended = false
        try client.flows(request) {
            if case .flow(let f) = $0, let port = f.l4?.sourcePort { ports.append(port) }
            if !appended {
                appended = true
                ring.appendTCP(srcPort: 1001, verdict: 2)
            }
            return ports.count < 2
        }
        XCTAssertEqual(ports, [1000, 1001], "the kept record, then the one written while following")
    }
}
