import Flows
import Foundation
import Glibc
import Policy
import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `HTTPListener` on a real loopback listener in a real worker loop: an accepted connection is
/// looked up in the steering table by its own addresses (the client's, and the local address as
/// the original destination) and served as HTTP/1.1, and the listener is full at the worker's
/// share of `maxConnections`.
final class HTTPListenerTests: XCTestCase {
    /// Answers every lookup with `info` and remembers the lookups (loop thread writes, test
    /// thread reads after `drain`).
    private final class RecordingSteering: SteeringTable {
        struct Lookup: Equatable {
            var sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16
            var proto: UInt8
        }
        let info: SteerInfo?
        private let lock = NSLock()
        private var seen: [Lookup] = []
        init(_ info: SteerInfo?) { self.info = info }

        var lookups: [Lookup] {
            lock.lock()
            defer { lock.unlock() }
            return seen
        }

        func lookup(
            sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
            protocol: UInt8
        ) -> SteerInfo? {
            lock.lock()
            seen.append(
                Lookup(
                    sourceAddress: sourceAddress, sourcePort: sourcePort, destinationAddress: destinationAddress,
                    destinationPort: destinationPort, proto: `protocol`))
            lock.unlock()
            return info
        }
    }

    /// The worker: its loop on a thread with a manual clock, and the listener under test.
    private final class Worker: ManualLoopDriver {
        let clock = ManualClock()
        let loop: EventLoop
        let ctx: WorkerContext
        let listener: HTTPListener
        let port: UInt16
        let sink = CollectingSink()
        private let thread: WorkerThread

        init(snapshot: PolicySnapshot, steering: SteeringTable, config: ProxyConfig) throws {
            loop = try EventLoop(clock: clock)
            ctx = WorkerContext(loop: loop, config: config, steering: steering, flows: sink, snapshot: snapshot)
            let fd = try Socket.listenTCP(address: Loopback.networkOrder, port: 0, transparent: false, reusePort: false)
            port = Loopback.localPort(fd)
            listener = HTTPListener(ctx: ctx, fd: fd)
            try listener.start()
            let loop = self.loop
            thread = WorkerThread(name: "test-http-listener") { loop.run() }
            try thread.start()
        }

        func stop() {
            loop.stop()
            thread.join()
            Socket.close(listener.fd)
        }
    }

    private var worker: Worker?

    override func tearDown() {
        worker?.stop()
        worker = nil
        super.tearDown()
    }

    /// A worker whose policy lets the client GET /allowed* on the listener's own port (the
    /// policy is written after the port is known, so it is published once the listener exists).
    private func start(config: ProxyConfig = ProxyConfig(workers: 1)) throws -> (Worker, RecordingSteering) {
        let placeholder = try TestPolicy.snapshot(TestPolicy.yaml(port: 1))
        let steering = RecordingSteering(TestPolicy.ingressSteer(placeholder))
        let w = try Worker(snapshot: placeholder, steering: steering, config: config)
        worker = w
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: w.port))
        XCTAssertEqual(
            snapshot.identity(ofEndpoint: TestPolicy.clientID), placeholder.identity(ofEndpoint: TestPolicy.clientID))
        let ctx = w.ctx
        w.onLoop { ctx.install(snapshot) }
        return (w, steering)
    }

    func testAnAcceptedConnectionIsSteeredByItsOwnAddressesAndServedAsHTTP1() throws {
        let (w, steering) = try start()
        let client = try XCTUnwrap(TestSocket.connect(port: w.port))
        // Denied by the rules, so the proxy answers itself and never connects to the original
        // destination (which is the listener itself here).
        client.send("GET /denied HTTP/1.1\r\nHost: backend\r\n\r\n")
        let head = String(decoding: client.read(through: "\r\n\r\n"), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 403 "), head)
        XCTAssertEqual(
            steering.lookups,
            [
                .init(
                    sourceAddress: Loopback.networkOrder, sourcePort: Loopback.localPort(client.fd),
                    destinationAddress: Loopback.networkOrder, destinationPort: w.port, proto: IPProtocol.tcp)
            ])
        let flows = w.sink.waitForFlows(1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(flows.first?.l4?.sourcePort, Loopback.localPort(client.fd))
        XCTAssertEqual(flows.first?.l4?.destinationPort, w.port)
        XCTAssertEqual(flows.first?.http?.url, "http://backend/denied")
    }

    func testTheListenerIsFullAtTheWorkersShareOfTheConnectionCap() throws {
        var config = ProxyConfig(workers: 2)
        config.maxConnections = 6
        let (w, _) = try start(config: config)
        let ctx = w.ctx, listener = w.listener
        XCTAssertEqual(w.onLoop { ctx.connectionCap }, 3, "6 connections over 2 workers")
        XCTAssertFalse(w.onLoop { listener.atCapacity })
        let clients = try (0..<3).map { _ in try XCTUnwrap(TestSocket.connect(port: w.port)) }
        for c in clients { c.send("GET /allowed HTTP/1.1\r\n") }  // heads not finished: they stay open
        XCTAssertTrue(eventually { w.onLoop { ctx.connectionCount } == 3 }, "three connections open")
        XCTAssertTrue(w.onLoop { listener.atCapacity })
        clients[0].shutdownWrite()
        XCTAssertTrue(eventually { w.onLoop { ctx.connectionCount } == 2 }, "one closed")
        XCTAssertFalse(w.onLoop { listener.atCapacity })
    }
}
