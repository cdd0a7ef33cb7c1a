import DNS
import Foundation
import Proxy
import SluiceAPI
import SluiceModel
import XCTest

@testable import Agent

final class FQDNCacheTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000
    private let a = IPAddress.v4(IPv4Address(192, 0, 2, 1))
    private let b = IPAddress.v4(IPv4Address(192, 0, 2, 2))
    private let c = IPAddress.v4(IPv4Address(192, 0, 2, 3))
    private let v6 = IPAddress.v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1))

    func testExpiryIsLookupTimePlusTTL() {
        let cache = FQDNCache()
        cache.update(name: "x.test.", ips: [a], ttl: 30, nowNs: 100 * second)
        XCTAssertEqual(
            cache.entries(of: "x.test.")[a], FQDNCache.Entry(expiresNs: 130 * second, lastSeenNs: 100 * second))
        XCTAssertEqual(cache.validIPs(of: "x.test.", nowNs: 129 * second), [a])
        XCTAssertEqual(cache.validIPs(of: "x.test.", nowNs: 130 * second), [])
    }

    func testMinTTLRaisesShortTTLs() {
        let cache = FQDNCache(minTTL: 60)
        cache.update(name: "x.test.", ips: [a], ttl: 5, nowNs: 0)
        cache.update(name: "y.test.", ips: [b], ttl: 600, nowNs: 0)
        XCTAssertEqual(cache.entries(of: "x.test.")[a]?.expiresNs, 60 * second)
        XCTAssertEqual(cache.entries(of: "y.test.")[b]?.expiresNs, 600 * second)
    }

    func testExpiryNeverMovesBackwards() {
        let cache = FQDNCache()
        cache.update(name: "x.test.", ips: [a], ttl: 300, nowNs: 0)
        cache.update(name: "x.test.", ips: [a], ttl: 10, nowNs: 5 * second)
        XCTAssertEqual(
            cache.entries(of: "x.test.")[a], FQDNCache.Entry(expiresNs: 300 * second, lastSeenNs: 5 * second))
    }

    func testCapEvictsLeastRecentlySeen() {
        let cache = FQDNCache(maxIPsPerName: 2)
        cache.update(name: "x.test.", ips: [a], ttl: 30, nowNs: 1)
        cache.update(name: "x.test.", ips: [b], ttl: 30, nowNs: 2)
        cache.update(name: "x.test.", ips: [a], ttl: 30, nowNs: 3)
        let evicted = cache.update(name: "x.test.", ips: [c], ttl: 30, nowNs: 4)
        XCTAssertEqual(evicted, [b])
        XCTAssertEqual(Set(cache.entries(of: "x.test.").keys), [a, c])
    }

    func testSweepKeepsExpiredIPsStillInUse() {
        let cache = FQDNCache()
        cache.update(name: "x.test.", ips: [a, b], ttl: 10, nowNs: 0)
        cache.update(name: "y.test.", ips: [c], ttl: 100, nowNs: 0)
        XCTAssertTrue(cache.sweep(nowNs: 5 * second) { _ in false }.isEmpty)
        let removed = cache.sweep(nowNs: 11 * second) { $0 == self.b }
        XCTAssertEqual(removed, ["x.test.": [a]])
        XCTAssertEqual(Array(cache.entries(of: "x.test.").keys), [b])
        XCTAssertEqual(cache.sweep(nowNs: 12 * second) { _ in false }, ["x.test.": [b]])
        XCTAssertEqual(cache.allNames, ["y.test."])
    }

    func testPersistenceRoundTrip() throws {
        let cache = FQDNCache()
        cache.update(name: "x.test.", ips: [a, v6], ttl: 30, nowNs: 7 * second)
        XCTAssertTrue(cache.takeDirty())
        XCTAssertFalse(cache.takeDirty())
        let path = NSTemporaryDirectory() + "fqdn-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try cache.save(to: path)
        let loaded = FQDNCache()
        XCTAssertEqual(try loaded.load(Array(try Data(contentsOf: URL(fileURLWithPath: path)))), 2)
        XCTAssertEqual(loaded.entries(of: "x.test."), cache.entries(of: "x.test."))
    }
}
