import XCTest

@testable import HubbleProto

final class HashSlotsTests: XCTestCase {
    func testTheCountIsRoundedUpToAPowerOfTwo() {
        for (asked, count) in [(0, 1), (1, 1), (2, 2), (3, 4), (64, 64), (65, 128), (4096, 4096)] {
            XCTAssertEqual(HashSlots(atLeast: asked).count, count, "\(asked)")
        }
    }

    func testEveryIndexIsInTheTableAndEverySlotIsReached() {
        for asked in [1, 8, 64, 1000] {
            let slots = HashSlots(atLeast: asked)
            var reached = Set<Int>()
            var x: UInt64 = 0x1234_5678_9ABC_DEF1
            for _ in 0..<20_000 {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
                let i = slots.index(x)
                XCTAssertTrue((0..<slots.count).contains(i), "\(i) of \(slots.count)")
                reached.insert(i)
            }
            XCTAssertEqual(reached.count, slots.count, "every slot of \(slots.count)")
        }
    }

    func testHashesThatDifferInTheirLowOrHighBitsOnlySpreadOverTheTable() {
        let slots = HashSlots(atLeast: 64)
        // Only the top six bits differ: the odd multiplier permutes them, so every slot is hit.
        XCTAssertEqual(Set((0..<64).map { slots.index(UInt64($0) << 58) }).count, 64)
        // Only the low six bits differ: the product carries them into the top bits.
        XCTAssertGreaterThan(Set((0..<64).map { slots.index(UInt64($0)) }).count, 32)
    }
}
