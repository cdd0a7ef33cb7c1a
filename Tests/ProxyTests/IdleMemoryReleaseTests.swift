import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `IdleMemoryRelease` on a real event loop stepped on the test thread with a manual clock: an
/// idle worker releases once enough connections closed, not at once, never while a connection
/// is open, and at most once an interval; and through a worker's HTTP connections
/// (`ProxyHarness`): the last of them closing is what starts the release.
final class IdleMemoryReleaseTests: XCTestCase {
    /// Counts the releases (loop thread only).
    private final class Counter {
        var releases = 0
    }

    private let clock = ManualClock()
    private var loop: EventLoop!
    private let counter = Counter()
    private var release: IdleMemoryRelease!

    override func setUpWithError() throws {
        loop = try EventLoop(clock: clock)
        let counter = self.counter
        release = IdleMemoryRelease(loop: loop) { counter.releases += 1 }
    }

    override func tearDown() {
        release = nil
        loop = nil
    }

    /// Opens `count` connections one by one on top of `open`, then closes them one by one.
    private func burst(_ count: Int, open: Int = 0) {
        for n in open..<open + count { release.connectionsChanged(from: n, to: n + 1) }
        for n in stride(from: open + count, to: open, by: -1) { release.connectionsChanged(from: n, to: n - 1) }
    }

    private func advance(_ ns: UInt64) {
        clock.advance(by: ns)
        loop.runDueTimers()
    }

    func testAnIdleWorkerReleasesOnceAfterEnoughConnectionsClosed() {
        burst(IdleMemoryRelease.minimumClosed)
        XCTAssertEqual(counter.releases, 0, "not at once")
        advance(IdleMemoryRelease.delayNs - 1)
        XCTAssertEqual(counter.releases, 0)
        advance(1)
        XCTAssertEqual(counter.releases, 1)
        XCTAssertEqual(release.closedSinceRelease, 0)
        advance(10 * IdleMemoryRelease.minimumIntervalNs)
        XCTAssertEqual(counter.releases, 1, "nothing closed since: no second release")
        XCTAssertEqual(loop.scheduledTimers, 0)
    }

    func testFewerClosedConnectionsWaitForMore() {
        burst(IdleMemoryRelease.minimumClosed - 1)
        advance(IdleMemoryRelease.minimumIntervalNs)
        XCTAssertEqual(counter.releases, 0)
        XCTAssertEqual(loop.scheduledTimers, 0, "no timer armed")
        burst(1)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 1, "the closes add up over idle periods")
    }

    func testAWorkerWithConnectionsOpenNeverReleases() {
        burst(4 * IdleMemoryRelease.minimumClosed, open: 1)
        advance(10 * IdleMemoryRelease.minimumIntervalNs)
        XCTAssertEqual(counter.releases, 0, "one connection stayed open throughout")
        release.connectionsChanged(from: 1, to: 0)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 1, "its close makes the worker idle")
    }

    func testAConnectionBeforeTheDelayEndsPutsTheReleaseOff() {
        burst(IdleMemoryRelease.minimumClosed)
        release.connectionsChanged(from: 0, to: 1)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 0, "busy again when the timer fired")
        release.connectionsChanged(from: 1, to: 0)
        advance(IdleMemoryRelease.delayNs - 1)
        XCTAssertEqual(counter.releases, 0)
        advance(1)
        XCTAssertEqual(counter.releases, 1, "idle again for the delay: released")
    }

    func testReleasesAreAtLeastAnIntervalApart() {
        burst(IdleMemoryRelease.minimumClosed)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 1)
        burst(IdleMemoryRelease.minimumClosed)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 1, "the second burst waits for the interval")
        advance(IdleMemoryRelease.minimumIntervalNs - 2 * IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 1)
        advance(IdleMemoryRelease.delayNs)
        XCTAssertEqual(counter.releases, 2)
    }

    /// The worker's own connections drive it: `WorkerContext.connectionCount` going to 0 after
    /// `minimumClosed` HTTP/1 connections closed arms the release.
    func testTheLastOfAWorkersConnectionsClosingReleasesItsMemory() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 1))
        let h = try ProxyHarness(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
        defer { h.stop() }
        let ctx = h.ctx, counter = Counter()
        h.onLoop { ctx.memoryRelease = IdleMemoryRelease(loop: ctx.loop) { counter.releases += 1 } }
        let clients = try (0..<IdleMemoryRelease.minimumClosed).map { _ in try h.connect(upstreamPort: 1) }
        XCTAssertTrue(eventually { h.onLoop { ctx.connectionCount } == clients.count }, "all open")
        for client in clients { client.shutdownWrite() }
        XCTAssertTrue(eventually { h.onLoop { ctx.connectionCount } == 0 }, "all closed")
        XCTAssertEqual(h.onLoop { counter.releases }, 0)
        h.advance(by: IdleMemoryRelease.delayNs)
        XCTAssertEqual(h.onLoop { counter.releases }, 1)
    }
}
