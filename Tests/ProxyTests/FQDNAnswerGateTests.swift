import DNS
import Foundation
import Policy
import PolicyYAML
@testable import Proxy
import SluiceIO
import XCTest

/// A datapath whose install takes `delay` and records what it got.
private final class SlowDatapath: FQDNDatapath {
    let delayUs: UInt32
    private let lock = NSLock()
    private var names: [String] = []
    init(delayUs: UInt32) { self.delayUs = delayUs }
    var installed: [String] {
        lock.lock()
        defer { lock.unlock() }
        return names
    }
    func install(ips: [IPAddress], for name: String) -> Bool {
        usleep(delayUs)
        lock.lock()
        names.append(name)
        lock.unlock()
        return true
    }
    func remove(ips: [IPAddress], for name: String) {}
    func hasConnections(to ip: IPAddress) -> Bool { false }
}

final class FQDNAnswerGateTests: XCTestCase {
    private let ip = IPAddress.v4(IPAddress.V4(192, 0, 2, 9))

    /// Runs one gate on a real loop; returns when `count` answers were released, with the
    /// release times (ms after hold) and the gate's counters.
    private func run(datapath: FQDNDatapath, maxDelayMs: UInt64, count: Int)
        throws -> (releasedMs: [Double], installed: Int, late: Int, service: FQDNService)
    {
        let service = FQDNService(cache: FQDNCache(), datapath: datapath, stateFile: nil)
        try service.start()
        defer { service.stop() }
        let loop = try EventLoop()
        let gate = FQDNAnswerGate(loop: loop, service: service, maxDelayNs: maxDelayMs * 1_000_000)
        let thread = WorkerThread(name: "test-loop") { loop.run() }
        try thread.start()
        let done = DispatchSemaphore(value: 0)
        let start = Date()
        var released: [Double] = []
        loop.execute {
            for _ in 0..<count {
                gate.hold(name: "x.test.", ips: [self.ip], ttl: 30, now: Clock.monotonicNs()) {
                    released.append(Date().timeIntervalSince(start) * 1000)
                    done.signal()
                }
            }
        }
        for _ in 0..<count { XCTAssertEqual(done.wait(timeout: .now() + 5), .success) }
        // Let a late install completion arrive: it must not release anything twice.
        usleep(400_000)
        let counted = DispatchSemaphore(value: 0)
        var result = (0, 0)
        loop.execute {
            result = (gate.releasedInstalled, gate.releasedAfterMaxDelay)
            counted.signal()
        }
        counted.wait()
        loop.stop()
        thread.join()
        return (released, result.0, result.1, service)
    }

    func testFastDatapathReleasesAtOnce() throws {
        let datapath = SlowDatapath(delayUs: 0)
        let r = try run(datapath: datapath, maxDelayMs: 100, count: 3)
        XCTAssertEqual(r.releasedMs.count, 3)
        XCTAssertEqual(r.installed, 3)
        XCTAssertEqual(r.late, 0)
        XCTAssertLessThan(r.releasedMs.max() ?? 1000, 90)
        XCTAssertEqual(datapath.installed.count, 3)
        XCTAssertEqual(Array(r.service.cache.entries(of: "x.test.").keys), [ip])
    }

    func testSlowDatapathReleasesAfterMaxDelayAndCounts() throws {
        let r = try run(datapath: SlowDatapath(delayUs: 300_000), maxDelayMs: 100, count: 1)
        XCTAssertEqual(r.releasedMs.count, 1, "released exactly once")
        XCTAssertEqual(r.late, 1)
        XCTAssertEqual(r.installed, 0)
        XCTAssertGreaterThanOrEqual(r.releasedMs[0], 95)
        XCTAssertLessThan(r.releasedMs[0], 290)
    }

    func testOnlyNamesMatchingToFQDNsSelectorsAreHeld() throws {
        let service = FQDNService(cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: nil)
        let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: fqdn, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toFQDNs:
            - matchPattern: "*.allowed.test"
            - matchName: api.example.com
        """
        let sets = try FQDNSelectorSet.parse(yamlText: yaml, fileName: "f.yaml")
        service.publish(selectors: FQDNSelectorSet(merging: Array(sets.values)))
        XCTAssertTrue(service.selectors.matches("www.allowed.test"))
        XCTAssertTrue(service.selectors.matches("API.example.com."))
        XCTAssertFalse(service.selectors.matches("allowed.test"))
        XCTAssertEqual(service.selectors.patterns.count, 2)
    }
}
