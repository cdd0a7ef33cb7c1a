import SluiceModel
import XCTest

final class FNV1aTests: XCTestCase {
    /// The reference implementation's test vectors (the FNV page's `fnv1a32`/`fnv1a64` of "",
    /// "a" and "foobar").
    func testKnownVectors() {
        XCTAssertEqual(FNV1a.hash32("".utf8), 0x811C_9DC5)
        XCTAssertEqual(FNV1a.hash32("a".utf8), 0xE40C_292C)
        XCTAssertEqual(FNV1a.hash32("foobar".utf8), 0xBF9C_F968)
        XCTAssertEqual(FNV1a.hash64("".utf8), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(FNV1a.hash64("a".utf8), 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(FNV1a.hash64("foobar".utf8), 0x8594_4171_F739_67E8)
    }

    /// Hashing in parts, each continuing from the last, is hashing the whole.
    func testContinuingIsHashingTheConcatenation() {
        XCTAssertEqual(FNV1a.hash32("bar".utf8, continuing: FNV1a.hash32("foo".utf8)), FNV1a.hash32("foobar".utf8))
        XCTAssertEqual(FNV1a.hash64("bar".utf8, continuing: FNV1a.hash64("foo".utf8)), FNV1a.hash64("foobar".utf8))
        XCTAssertNotEqual(FNV1a.hash64("oobar".utf8, continuing: FNV1a.hash64("f".utf8)), FNV1a.hash64("oobar".utf8))
    }

    func testHexIsZeroPaddedToTheWidth() {
        XCTAssertEqual(FNV1a.hex(UInt32(0xAB)), "000000ab")
        XCTAssertEqual(FNV1a.hex(UInt32.max), "ffffffff")
        XCTAssertEqual(FNV1a.hex(UInt64(0x0123_4567_89AB_CDEF)), "0123456789abcdef")
        XCTAssertEqual(FNV1a.hex(UInt64(0)), "0000000000000000")
        XCTAssertEqual(FNV1a.hex(FNV1a.hash32("a".utf8)), "e40c292c")
    }
}
