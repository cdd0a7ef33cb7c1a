import XCTest

@testable import Proxy

/// The DNS proxy's CSPRNG: no seed to print (getrandom(2) is the point), so the checks are bounds
/// and a generator that does not repeat one value, not exact values.
final class DNSRandomTests: XCTestCase {
    func testValuesVaryAcrossRefills() {
        let random = DNSRandom()
        let values = (0..<(DNSRandom.batch * 3)).map { _ in random.u16() }
        // 768 draws of a uniform 16-bit value: a stuck or unfilled buffer gives a handful.
        XCTAssertGreaterThan(Set(values).count, 600)
        XCTAssertNotEqual(Set(values[0..<DNSRandom.batch]), Set(values[DNSRandom.batch..<2 * DNSRandom.batch]))
    }

    func testBelowStaysInRange() {
        let random = DNSRandom()
        XCTAssertEqual(random.below(0), 0)
        XCTAssertEqual(random.below(1), 0)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let value = random.below(5)
            XCTAssertTrue((0..<5).contains(value))
            seen.insert(value)
        }
        XCTAssertEqual(seen, [0, 1, 2, 3, 4])
    }

    func testIDSkipsIDsInUse() {
        let random = DNSRandom()
        var inUse = Set<UInt16>()
        for _ in 0..<1000 {
            let id = random.id { inUse.contains($0) }
            XCTAssertFalse(inUse.contains(id))
            inUse.insert(id)
        }
        XCTAssertEqual(inUse.count, 1000)
    }
}
