import Glibc
import Policy
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// The accept loop and its gate (`TCPListener`, `AcceptGate`) on a real loopback listener and a
/// real event loop stepped on the test thread with a manual clock: at the cap, and when accept
/// fails with EMFILE, the listener leaves epoll, the connection waits in the kernel's queue, and
/// the retry timer brings the listener back to accept it.
final class TCPListenerTests: XCTestCase {
    private final class NoSteering: SteeringTable {
        func lookup(
            sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
            protocol: UInt8
        ) -> SteerInfo? { nil }
    }

    /// A listener that keeps what it accepts and is full at `limit` connections.
    private final class KeepingListener: TCPListener {
        let fd: Int32
        let ctx: WorkerContext
        lazy var gate = AcceptGate(listener: self, ctx: ctx)
        var limit = Int.max
        var kept: [Int32] = []
        init(fd: Int32, ctx: WorkerContext) {
            self.fd = fd
            self.ctx = ctx
        }
        var steering: SteeringTable { ctx.steering }
        var atCapacity: Bool { kept.count >= limit }
        func accepted(_ a: Socket.Accepted, steer: SteerInfo?) { kept.append(a.fd) }
    }

    private let clock = ManualClock(startNs: 1_000_000_000)
    private var loop: EventLoop!
    private var listener: KeepingListener!
    private var port: UInt16 = 0
    private var clients: [Int32] = []

    override func setUpWithError() throws {
        loop = try EventLoop(clock: clock)
        var allocator = IdentityAllocator()
        let snapshot = PolicyRepository().compile(endpoints: [], allocator: &allocator)
        let ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1), steering: NoSteering(), flows: nil, snapshot: snapshot)
        let fd = try Socket.listenTCP(address: 0x0100_007F, port: 0, transparent: false, reusePort: false)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = KeepingListener(fd: fd, ctx: ctx)
        try listener.gate.register()
    }

    override func tearDown() {
        for fd in clients + (listener?.kept ?? []) { close(fd) }
        if let listener { close(listener.fd) }
    }

    /// A connected client (the kernel completes the handshake; nobody has accepted it yet).
    private func connectClient() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = 0x0100_007F  // 127.0.0.1, network order
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(r, 0)
        clients.append(fd)
        return fd
    }

    private func step() { loop.runOnce(timeoutMs: 50) }

    func testAcceptsEveryPendingConnection() {
        _ = connectClient()
        _ = connectClient()
        step()
        XCTAssertEqual(listener.kept.count, 2)
        XCTAssertNil(listener.gate.pausedFor)
    }

    func testAtTheCapTheListenerPausesAndResumesOnceThereIsRoom() {
        listener.limit = 1
        _ = connectClient()
        _ = connectClient()
        step()
        XCTAssertEqual(listener.kept.count, 1, "the second connection waits in the accept queue")
        XCTAssertEqual(listener.gate.pausedFor, .connectionCap)
        XCTAssertEqual(listener.ctx.listenerStats.capPauses, 1)
        XCTAssertEqual(listener.ctx.listenerStats.pausedListeners, 1)

        // Still full at the retry: the listener stays out and looks again later.
        clock.advance(by: AcceptGate.retryNs)
        step()
        XCTAssertEqual(listener.kept.count, 1)
        XCTAssertEqual(listener.gate.pausedFor, .connectionCap)
        XCTAssertEqual(listener.ctx.listenerStats.capPauses, 1, "one pause, however long")

        // A connection closes: the next retry accepts the one that waited, and the worker is
        // full again, so the listener goes out again at once.
        guard let first = listener.kept.first else { return XCTFail("nothing accepted") }
        close(first)
        listener.kept.removeFirst()
        clock.advance(by: AcceptGate.retryNs)
        step()
        XCTAssertEqual(listener.kept.count, 1)
        XCTAssertEqual(listener.gate.pausedFor, .connectionCap)
        XCTAssertEqual(listener.ctx.listenerStats.capPauses, 2)

        // Room again: back in epoll, and a new connection is accepted on its own event.
        listener.limit = 10
        clock.advance(by: AcceptGate.retryNs)
        step()
        XCTAssertNil(listener.gate.pausedFor)
        XCTAssertEqual(listener.ctx.listenerStats.pausedListeners, 0)
        _ = connectClient()
        step()
        XCTAssertEqual(listener.kept.count, 2)
    }

    func testEMFILEPausesTheListenerAndTheRetryAcceptsWhatWaited() throws {
        _ = connectClient()
        var saved = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved), 0)
        // The lowest free descriptor number as the soft limit: the next descriptor is EMFILE.
        let lowest = dup(0)
        close(lowest)
        var low = saved
        low.rlim_cur = rlim_t(lowest)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &low), 0)
        step()
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &saved), 0)
        XCTAssertEqual(listener.kept.count, 0)
        XCTAssertEqual(listener.gate.pausedFor, .fileLimit)
        XCTAssertEqual(listener.ctx.listenerStats.fileLimitPauses, 1)

        clock.advance(by: AcceptGate.retryNs - 1)
        step()
        XCTAssertEqual(listener.kept.count, 0, "not before the retry")
        clock.advance(by: 1)
        step()
        XCTAssertEqual(listener.kept.count, 1, "the waiting connection is accepted once descriptors are back")
        XCTAssertNil(listener.gate.pausedFor)
    }

    func testStatsAddUpOverWorkersAndReadAsStatusLines() {
        var a = ListenerStats()
        a.openConnections = 3
        a.connectionCap = 10
        a.capPauses = 1
        var b = ListenerStats()
        b.openConnections = 4
        b.connectionCap = 10
        b.fileLimitPauses = 2
        b.pausedListeners = 1
        let sum = a + b
        XCTAssertEqual(sum.openConnections, 7)
        XCTAssertEqual(sum.connectionCap, 20)
        XCTAssertEqual(sum.capPauses, 1)
        XCTAssertEqual(sum.fileLimitPauses, 2)
        XCTAssertEqual(sum.pausedListeners, 1)
        XCTAssertTrue(sum.description.contains("7 open, cap 20"), sum.description)
    }

    func testAWorkersShareOfTheCap() throws {
        var allocator = IdentityAllocator()
        let snapshot = PolicyRepository().compile(endpoints: [], allocator: &allocator)
        var config = ProxyConfig(workers: 4)
        config.maxConnections = 100
        let ctx = WorkerContext(loop: loop, config: config, steering: NoSteering(), flows: nil, snapshot: snapshot)
        XCTAssertEqual(ctx.connectionCap, 25)
        config.maxConnections = 2
        XCTAssertEqual(
            WorkerContext(loop: loop, config: config, steering: NoSteering(), flows: nil, snapshot: snapshot)
                .connectionCap, 1, "at least one per worker")
    }
}
