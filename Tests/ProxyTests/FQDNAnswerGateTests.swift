import DNS
import Foundation
import Policy
import PolicyYAML
import SluiceIO
import SluiceModel
import SluiceSync
import XCTest

@testable import Agent
@testable import Proxy

/// A datapath whose installs block until the test opens it, and that records what it got: the
/// test decides when "the addresses are in place", so holding and releasing are observed, not
/// timed.
final class GatedFQDNDatapath: FQDNDatapath, @unchecked Sendable {
    private let condition = Condition()
    private var isOpen: Bool
    private var entered: [String] = []
    private var names: [String] = []

    init(open: Bool = false) { isOpen = open }

    /// Lets every waiting and future install finish.
    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Names whose install has started (the service thread is inside `install`).
    var started: [String] { condition.lock(); defer { condition.unlock() }; return entered }
    /// Names whose install finished.
    var installed: [String] { condition.lock(); defer { condition.unlock() }; return names }

    func install(ips: [IPAddress], for name: String) -> Bool {
        condition.lock()
        entered.append(name)
        while !isOpen { condition.wait(untilMonotonicNs: SystemClock.monotonicNs() + 1_000_000_000) }
        names.append(name)
        condition.unlock()
        return true
    }

    func remove(ips: [IPAddress], for name: String) {}
    func hasConnections(to ip: IPAddress) -> Bool { false }
}

/// `FQDNAnswerGate` on a real loop with a `ManualClock`: an answer is released exactly once,
/// when its addresses are installed or when the maximum delay has passed on the loop's clock.
final class FQDNAnswerGateTests: XCTestCase {
    private let ip = IPAddress.v4(IPv4Address(192, 0, 2, 9))

    /// One gate on a loop thread; `released` counts the answers it let go.
    private final class GateHarness: ManualLoopDriver {
        let clock = ManualClock()
        let loop: EventLoop
        let gate: FQDNAnswerGate
        let service: FQDNService
        private let thread: WorkerThread
        private let lock = NSLock()
        private var count = 0

        init(datapath: FQDNDatapath, maxDelayNs: UInt64) throws {
            service = FQDNService(cache: FQDNCache(), datapath: datapath, stateFile: nil)
            try service.start()
            loop = try EventLoop(clock: clock)
            gate = FQDNAnswerGate(loop: loop, service: service, maxDelayNs: maxDelayNs)
            let loop = self.loop
            thread = WorkerThread(name: "test-loop") { loop.run() }
            try thread.start()
        }

        var released: Int { lock.lock(); defer { lock.unlock() }; return count }

        /// Holds `n` answers for x.test. (on the loop thread).
        func hold(_ n: Int, ip: IPAddress) {
            let gate = self.gate, loop = self.loop
            onLoop {
                for _ in 0..<n {
                    gate.hold(name: "x.test.", ips: [ip], ttl: 30, now: loop.now) {
                        self.lock.lock()
                        self.count += 1
                        self.lock.unlock()
                    }
                }
            }
        }

        /// (released because installed, released after the maximum delay, still held).
        func counters() -> (installed: Int, late: Int, held: Int) {
            let gate = self.gate
            return onLoop { (gate.releasedInstalled, gate.releasedAfterMaxDelay, gate.heldCount) }
        }

        /// Returns once every completion the service queued before this call has run on the
        /// loop: the service does its jobs in order, and this one's completion hops to the loop
        /// after theirs. The datapath must be open.
        func settleService() {
            let done = DispatchSemaphore(value: 0)
            let loop = self.loop
            service.learn(name: "barrier.test.", ips: [], ttl: 1) { loop.execute { done.signal() } }
            done.wait()
        }

        /// Stops the service (its datapath must be open) and the loop.
        func stop() {
            service.stop()
            loop.stop()
            thread.join()
        }
    }

    func testAnswersAreHeldUntilTheirAddressesAreInstalled() throws {
        let datapath = GatedFQDNDatapath()
        let h = try GateHarness(datapath: datapath, maxDelayNs: 100_000_000)
        defer { datapath.open(); h.stop() }
        h.hold(3, ip: ip)
        XCTAssertTrue(eventually { datapath.started.count == 1 }, "the service is installing")
        h.drain()
        XCTAssertEqual(h.released, 0, "nothing released while the install is under way")
        XCTAssertEqual(h.counters().held, 3)
        datapath.open()
        XCTAssertTrue(eventually { h.released == 3 }, "released once installed: \(h.released)")
        h.settleService()
        let counters = h.counters()
        XCTAssertEqual(counters.installed, 3)
        XCTAssertEqual(counters.late, 0)
        XCTAssertEqual(counters.held, 0)
        XCTAssertEqual(h.released, 3, "each exactly once")
        XCTAssertEqual(Array(h.service.cache.entries(of: "x.test.").keys), [ip])
    }

    func testASlowInstallReleasesAtTheMaximumDelayExactlyOnce() throws {
        let datapath = GatedFQDNDatapath()
        let h = try GateHarness(datapath: datapath, maxDelayNs: 100_000_000)
        defer { datapath.open(); h.stop() }
        h.hold(1, ip: ip)
        XCTAssertTrue(eventually { datapath.started.count == 1 })
        h.advance(by: 100_000_000 - 1)
        XCTAssertEqual(h.released, 0, "held until the maximum delay")
        h.advance(by: 1)
        XCTAssertEqual(h.released, 1, "released at the maximum delay")
        XCTAssertEqual(h.counters().late, 1)
        // The install completes afterwards: its completion must not release the answer again.
        datapath.open()
        h.settleService()
        XCTAssertEqual(datapath.installed.first, "x.test.")
        XCTAssertEqual(h.released, 1, "released exactly once")
        XCTAssertEqual(h.counters().installed, 0)
    }

    func testAFastInstallReleasesBeforeTheMaximumDelay() throws {
        let datapath = GatedFQDNDatapath(open: true)
        let h = try GateHarness(datapath: datapath, maxDelayNs: 100_000_000)
        defer { h.stop() }
        h.hold(2, ip: ip)
        XCTAssertTrue(eventually { h.released == 2 }, "released with no time passing on the loop's clock")
        XCTAssertEqual(h.counters().installed, 2)
        XCTAssertEqual(h.counters().late, 0)
    }

    /// Through the DNS proxy: an answer for a name a toFQDNs selector matches waits for the
    /// datapath; an answer for any other name goes out at once and is not learned.
    func testOnlyAnswersForToFQDNsNamesAreHeld() throws {
        let datapath = GatedFQDNDatapath()
        let service = FQDNService(cache: FQDNCache(), datapath: datapath, stateFile: nil)
        try service.start()
        defer { datapath.open(); service.stop() }
        let sets = try FQDNSelectorSet.parse(
            yamlText: """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: fqdn, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: client}}
                  egress:
                  - toFQDNs:
                    - matchName: held.allowed.test
                """, fileName: "f.yaml")
        service.publish(selectors: FQDNSelectorSet(merging: Array(sets.values)))
        let h = try DNSProxyHarness(service: service)

        let free = try XCTUnwrap(h.ask(DNSTest.query("free.allowed.test.", id: 1)), "not held: answered at once")
        XCTAssertEqual(free.withUnsafeBytes { DNSWire.id(of: $0) }, 1)

        DNSTest.send(h.client, DNSTest.query("held.allowed.test.", id: 2), port: h.port)
        XCTAssertTrue(eventually { datapath.started == ["held.allowed.test."] }, "learning \(datapath.started)")
        h.drain()
        XCTAssertTrue(DNSTest.nothingToRead(h.client), "held while the install is under way")
        datapath.open()
        let held = try XCTUnwrap(DNSTest.receive(h.client), "released once installed")
        XCTAssertEqual(held.bytes.withUnsafeBytes { DNSWire.id(of: $0) }, 2)
        XCTAssertEqual(datapath.installed, ["held.allowed.test."], "the other name was never learned")
    }
}
