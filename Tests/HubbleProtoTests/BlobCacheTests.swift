import XCTest

@testable import HubbleProto

final class BlobCacheTests: XCTestCase {
    /// A key is made once and then read from its slot; a key landing on a taken slot replaces it
    /// (made again when asked for later); parts cut at the marks; an empty string is kept too.
    func testKeysAreMadeOnceReplacedOnCollisionAndCutIntoParts() {
        let cache = BlobCache<UInt64>(slots: 1)  // one slot: every other key collides
        func blob(_ key: UInt64) -> BlobCache<UInt64>.Blob {
            cache.blob(key, hash: key) { w in
                for i in 0..<Int(key) { w.rawByte(UInt8(truncatingIfNeeded: key &+ UInt64(i))) }
                return (Int(key) / 3, 2 * Int(key) / 3)
            }
        }
        func bytes(_ b: UnsafeRawBufferPointer) -> [UInt8] { Array(b) }
        XCTAssertEqual(bytes(blob(9).bytes), (9..<18).map { UInt8($0) })
        XCTAssertEqual(bytes(blob(9).bytes), (9..<18).map { UInt8($0) })
        XCTAssertEqual(cache.made, 1)
        let nine = blob(9)
        XCTAssertEqual(bytes(nine.part(0)), [9, 10, 11])
        XCTAssertEqual(bytes(nine.part(1)), [12, 13, 14])
        XCTAssertEqual(bytes(nine.part(2)), [15, 16, 17])
        XCTAssertEqual(bytes(blob(4).bytes), [4, 5, 6, 7])
        XCTAssertEqual(cache.made, 2)
        XCTAssertEqual(bytes(blob(9).bytes), (9..<18).map { UInt8($0) })
        XCTAssertEqual(cache.made, 3, "9 was replaced by 4, so made again")
        XCTAssertEqual(blob(0).count, 0)
        XCTAssertEqual(blob(0).part(1).count, 0)
        XCTAssertEqual(cache.made, 4)
        _ = blob(0)
        XCTAssertEqual(cache.made, 4, "an empty string is kept like any other")
    }

    /// With many slots, distinct keys of a small set are each made once.
    func testASmallSetOfKeysStaysKept() {
        let cache = BlobCache<UInt64>(slots: 256)
        var made: Set<UInt64> = []
        for round in 0..<3 {
            for key in UInt64(1)...8 {
                let b = cache.blob(key, hash: key &* 0x1234_5678_9ABC_DEF1) { w in
                    w.uint(1, key)
                    return (0, 0)
                }
                XCTAssertEqual(Array(b.bytes), [0x08, UInt8(key)])
                if round == 0 { made.insert(key) }
            }
        }
        XCTAssertEqual(cache.made, 8, "these keys take 8 distinct slots: each made once")
        XCTAssertEqual(made.count, 8)
    }
}
