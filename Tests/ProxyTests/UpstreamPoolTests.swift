import Glibc
import SluiceIO
import SluiceModel
import XCTest

@testable import Proxy

/// `UpstreamPool` on real loopback TCP connections and a real event loop stepped on the test
/// thread with a manual clock: a parked connection comes back only for its own destination and
/// mark, a connection the server closed or wrote to is dropped (at once by its event, or by the
/// peek in `take`), and the idle sweep closes what waited 60 s.
final class UpstreamPoolTests: XCTestCase {
    /// Stands for the connection that takes a pooled socket back.
    private final class Taker: EventHandler {
        var events: [UInt32] = []
        func handleEvents(_ events: UInt32, tag: UInt32) { self.events.append(events) }
    }

    private let clock = ManualClock(startNs: 1_000_000_000)
    private var loop: EventLoop!
    private var pool: UpstreamPool!
    private var listener: (fd: Int32, port: UInt16)!
    /// The server sides of the connections, closed by tearDown.
    private var serverSides: [Int32] = []
    private let taker = Taker()

    override func setUpWithError() throws {
        loop = try EventLoop(clock: clock)
        pool = UpstreamPool(loop: loop)
        listener = try XCTUnwrap(Loopback.listen())
    }

    override func tearDown() {
        serverSides.forEach { _ = Glibc.close($0) }
        Glibc.close(listener.fd)
        pool = nil
        loop = nil
    }

    /// A connected loopback TCP connection registered in the loop (readable and hang-ups, as a
    /// proxied upstream is): its client descriptor and registration; the server side is kept.
    private func connection() throws -> (fd: Int32, registration: EventLoop.Registration) {
        let client = try XCTUnwrap(TestSocket.connect(port: listener.port))
        let fd = dup(client.fd)
        let server = accept(listener.fd, nil, nil)
        XCTAssertGreaterThanOrEqual(server, 0)
        serverSides.append(server)
        let registration = try loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.readHangup, handler: taker, tag: 0)
        return (fd, registration)
    }

    private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    func testAParkedConnectionComesBackOnlyForItsDestinationAndMark() throws {
        let c = try connection()
        pool.park(
            fd: c.fd, registration: c.registration, target: UpstreamTarget(address: 0x0100_007F, port: 8080, mark: 7))
        XCTAssertEqual(pool.count, 1)
        XCTAssertNil(
            pool.take(UpstreamTarget(address: 0x0100_007F, port: 8080, mark: 8), for: taker, tag: 1), "another identity"
        )
        XCTAssertNil(
            pool.take(UpstreamTarget(address: 0x0100_007F, port: 8081, mark: 7), for: taker, tag: 1), "another port")
        XCTAssertNil(
            pool.take(UpstreamTarget(address: 0x0200_007F, port: 8080, mark: 7), for: taker, tag: 1), "another address")
        XCTAssertEqual(pool.count, 1, "a miss leaves the parked connection")
        let taken = try XCTUnwrap(
            pool.take(UpstreamTarget(address: 0x0100_007F, port: 8080, mark: 7), for: taker, tag: 1))
        XCTAssertEqual(taken.fd, c.fd)
        XCTAssertEqual(taken.registration, c.registration, "the epoll entry stays")
        XCTAssertEqual(pool.count, 0)
        XCTAssertNil(
            pool.take(UpstreamTarget(address: 0x0100_007F, port: 8080, mark: 7), for: taker, tag: 1), "taken once")
        // The registration is the taker's again: the server's bytes reach it.
        XCTAssertEqual(Glibc.send(serverSides[0], "x", 1, 0), 1)
        loop.runOnce(timeoutMs: 1000)
        XCTAssertEqual(taker.events.count, 1)
        XCTAssertTrue(isOpen(c.fd))
        Glibc.close(c.fd)
    }

    func testTheLastParkedIsTakenFirst() throws {
        let a = try connection()
        let b = try connection()
        pool.park(fd: a.fd, registration: a.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        pool.park(fd: b.fd, registration: b.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        XCTAssertEqual(pool.idleCount, 2)
        XCTAssertEqual(pool.take(UpstreamTarget(address: 1, port: 80, mark: 0), for: taker, tag: 0)?.fd, b.fd)
        XCTAssertEqual(pool.take(UpstreamTarget(address: 1, port: 80, mark: 0), for: taker, tag: 0)?.fd, a.fd)
        Glibc.close(a.fd)
        Glibc.close(b.fd)
    }

    func testAConnectionTheServerClosesIsDroppedByItsEvent() throws {
        let c = try connection()
        pool.park(fd: c.fd, registration: c.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        Glibc.close(serverSides.removeLast())
        loop.runOnce(timeoutMs: 1000)
        XCTAssertEqual(pool.count, 0, "the hang-up reached the pool, not the old handler")
        XCTAssertEqual(taker.events, [])
        XCTAssertFalse(isOpen(c.fd), "the pool closed it")
    }

    func testTakeSkipsAConnectionWithUnaskedBytesBeforeTheLoopSawThem() throws {
        let stale = try connection()
        let fresh = try connection()
        pool.park(fd: fresh.fd, registration: fresh.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        pool.park(fd: stale.fd, registration: stale.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        XCTAssertEqual(Glibc.send(serverSides[0], "HTTP/1.1 408 Request Timeout\r\n\r\n", 33, 0), 33)
        // No loop step: only the peek in take can see the bytes.
        let start = SystemClock.monotonicNs()
        while !readable(stale.fd), SystemClock.monotonicNs() - start < 2_000_000_000 { sched_yield() }
        let taken = try XCTUnwrap(pool.take(UpstreamTarget(address: 1, port: 80, mark: 0), for: taker, tag: 0))
        XCTAssertEqual(taken.fd, fresh.fd, "the stale connection is passed over")
        XCTAssertFalse(isOpen(stale.fd), "and closed")
        XCTAssertEqual(pool.count, 0)
        Glibc.close(fresh.fd)
    }

    func testTheSweepClosesConnectionsIdleForSixtySeconds() throws {
        let old = try connection()
        pool.park(fd: old.fd, registration: old.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        clock.advance(by: UpstreamPool.idleTimeoutNs / 2)
        loop.runDueTimers()
        XCTAssertEqual(pool.count, 1, "the sweep due at 15 s, run at 30 s, closes nothing")
        let young = try connection()
        pool.park(fd: young.fd, registration: young.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        XCTAssertEqual(pool.count, 2)
        clock.advance(by: UpstreamPool.idleTimeoutNs / 2)
        loop.runDueTimers()
        XCTAssertEqual(pool.count, 1, "60 s after parking, the old one goes")
        XCTAssertFalse(isOpen(old.fd))
        XCTAssertTrue(isOpen(young.fd))
        clock.advance(by: UpstreamPool.idleTimeoutNs / 2)
        loop.runDueTimers()
        XCTAssertEqual(pool.count, 0)
        XCTAssertFalse(isOpen(young.fd))
        XCTAssertEqual(loop.scheduledTimers, 0, "an empty pool schedules no sweep")
    }

    func testAFullDestinationClosesWhatIsParkedOnTop() throws {
        var fds: [Int32] = []
        for _ in 0..<UpstreamPool.maxIdlePerDestination {
            var pair: [Int32] = [0, 0]
            XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair), 0)
            serverSides.append(pair[1])
            let registration = try loop.register(
                fd: pair[0], events: EventLoop.Events.readable, handler: taker, tag: 0)
            pool.park(fd: pair[0], registration: registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
            fds.append(pair[0])
        }
        let extra = try connection()
        pool.park(fd: extra.fd, registration: extra.registration, target: UpstreamTarget(address: 1, port: 80, mark: 0))
        XCTAssertEqual(pool.count, UpstreamPool.maxIdlePerDestination)
        XCTAssertFalse(isOpen(extra.fd), "one more than the limit is closed")
        let other = try connection()
        pool.park(fd: other.fd, registration: other.registration, target: UpstreamTarget(address: 2, port: 80, mark: 0))
        XCTAssertEqual(pool.count, UpstreamPool.maxIdlePerDestination + 1, "the limit is per destination")
        clock.advance(by: UpstreamPool.idleTimeoutNs)
        loop.runDueTimers()
        XCTAssertEqual(pool.count, 0)
        XCTAssertFalse(fds.contains(where: isOpen))
    }

    private func readable(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 1
    }
}
