import DNS
import Foundation
import SluiceModel
import XCTest

@testable import Agent

/// The FQDN service with the no-op datapath: its state file survives a restart, answers are
/// learned on its own thread, sweeps forget expired IPs no connection uses, and a state file that
/// cannot be written is counted, not fatal.
final class FQDNServiceTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000
    private let a = IPAddress.v4(IPv4Address(192, 0, 2, 1))

    func testServiceReloadsItsStateFile() throws {
        let path = NSTemporaryDirectory() + "fqdn-service-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = FQDNService(cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: path)
        first.cache.update(name: "x.test.", ips: [a], ttl: 3600, nowNs: UInt64(Date().timeIntervalSince1970) * second)
        first.persist()
        let second = FQDNService(cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: path)
        XCTAssertEqual(Array(second.cache.entries(of: "x.test.").keys), [a])
    }

    func testAnswersAreLearnedOnTheServiceThread() throws {
        let service = FQDNService(cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: nil)
        try service.start()
        defer { service.stop() }
        let learned = expectation(description: "done")
        service.learn(name: "x.test.", ips: [a], ttl: 60) { learned.fulfill() }
        wait(for: [learned], timeout: 10)
        XCTAssertEqual(Array(service.cache.entries(of: "x.test.").keys), [a])
        XCTAssertEqual(service.learnedCount, 1)
        // the answer-to-datapath delay was measured before the answer was released
        let delay = service.learnDelay
        XCTAssertEqual(delay.count, 1)
        XCTAssertEqual(delay.counts.reduce(0, +), 1)
        XCTAssertGreaterThan(delay.sumSeconds, 0)
        XCTAssertLessThan(delay.sumSeconds, 10)
    }

    func testSweepForgetsExpiredIPsNoConnectionUses() {
        let service = FQDNService(cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: nil)
        let longAgo = UInt64(Date().timeIntervalSince1970) * second - 3600 * second
        service.cache.update(name: "old.test.", ips: [a], ttl: 60, nowNs: longAgo)
        service.cache.update(name: "new.test.", ips: [a], ttl: 3600, nowNs: longAgo + 3590 * second)
        service.sweep()
        XCTAssertEqual(service.cache.allNames, ["new.test."])
        XCTAssertEqual(service.removedCount, 1)
    }

    func testAStateFileThatCannotBeWrittenIsCounted() {
        let service = FQDNService(
            cache: FQDNCache(), datapath: NoopFQDNDatapath(), stateFile: "/nonexistent-\(getpid())/fqdn.json")
        service.persist()
        XCTAssertEqual(service.saveFailures, 0, "nothing changed, nothing written")
        service.cache.update(name: "x.test.", ips: [a], ttl: 60, nowNs: UInt64(Date().timeIntervalSince1970) * second)
        service.persist()
        XCTAssertEqual(service.saveFailures, 1)
    }
}
