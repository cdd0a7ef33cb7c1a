import XCTest

@testable import DNS

final class DomainNameWireTests: XCTestCase {
    /// A 12-byte header of zeros, then `body`.
    private func message(_ body: [UInt8]) -> [UInt8] { Array(repeating: 0, count: 12) + body }

    private func readName(_ bytes: [UInt8], at offset: Int) throws -> (DomainName, Int) {
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: offset)
            let name = try reader.readName()
            return (name, reader.offset)
        }
    }

    private func assertReadFails(_ bytes: [UInt8], at offset: Int, _ expected: DNSParseError, line: UInt = #line) {
        XCTAssertThrowsError(try readName(bytes, at: offset), line: line) {
            XCTAssertEqual($0 as? DNSParseError, expected, line: line)
        }
    }

    func testPlainNameLeavesTheCursorAfterTheZero() throws {
        let bytes = message([1, 0x61, 2, 0x62, 0x63, 0, 0xEE])
        let (name, offset) = try readName(bytes, at: 12)
        XCTAssertEqual(name.text, "a.bc.")
        XCTAssertEqual(offset, 18)
    }

    func testPointerIsFollowedAndTheCursorResumesAfterIt() throws {
        // 12: "example" root; 21: "www" -> 12; 27: trailing byte
        let bytes = message([7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0, 3, 0x77, 0x77, 0x77, 0xC0, 12, 0xEE])
        let (name, offset) = try readName(bytes, at: 21)
        XCTAssertEqual(name.text, "www.example.")
        XCTAssertEqual(offset, 27)
        XCTAssertEqual(name.wireBytes, try DomainName("www.example").wireBytes)
    }

    func testChainedPointers() throws {
        // 12: "c" root; 15: "b" -> 12; 19: "a" -> 15; 23: -> 19
        let bytes = message([1, 0x63, 0, 1, 0x62, 0xC0, 12, 1, 0x61, 0xC0, 15, 0xC0, 19])
        let (name, offset) = try readName(bytes, at: 23)
        XCTAssertEqual(name.text, "a.b.c.")
        XCTAssertEqual(offset, 25)
    }

    func testPointerChecks() {
        // Into the header.
        assertReadFails(message([0xC0, 0x02]), at: 12, .pointerOutOfRange)
        // Past the end.
        assertReadFails(message([0xC0, 0x40]), at: 12, .pointerOutOfRange)
        // To itself.
        assertReadFails(message([0xC0, 12]), at: 12, .pointerForward)
        // Forward.
        assertReadFails(message([0xC0, 14, 1, 0x61, 0]), at: 12, .pointerForward)
        // Back into the labels of this name: 12: "a" then pointer to 12.
        assertReadFails(message([1, 0x61, 0xC0, 12]), at: 12, .compressionLoop)
        // Cut in the middle of a pointer.
        assertReadFails(message([1, 0x61, 0xC0]), at: 12, .truncated)
    }

    func testLabelChecks() {
        assertReadFails(message([0x40, 0]), at: 12, .badLabelType)
        assertReadFails(message([0x80, 0]), at: 12, .badLabelType)
        assertReadFails(message([3, 0x61, 0x62]), at: 12, .truncated)
        assertReadFails(message([1, 0x61]), at: 12, .truncated)
        // 5 labels of 63 bytes: 320 bytes of wire form, over 255.
        let long = (0..<5).flatMap { _ -> [UInt8] in [63] + Array(repeating: UInt8(0x61), count: 63) } + [0]
        assertReadFails(message(long), at: 12, .nameTooLong)
        // 3 labels of 63 and one of 61: exactly 255.
        let longest =
            (0..<3).flatMap { _ -> [UInt8] in [63] + Array(repeating: UInt8(0x61), count: 63) }
            + [61] + Array(repeating: UInt8(0x62), count: 61) + [0]
        XCTAssertEqual(try? readName(message(longest), at: 12).0.wireLength, 255)
    }

    func testSkipName() throws {
        let bytes = message([0, 1, 0x61, 0, 1, 0x62, 0xC0, 13, 0x41])
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: 12)
            XCTAssertTrue(try reader.skipName())
            XCTAssertEqual(reader.offset, 13)
            XCTAssertFalse(try reader.skipName())
            XCTAssertEqual(reader.offset, 16)
            XCTAssertFalse(try reader.skipName())
            XCTAssertEqual(reader.offset, 20)
            XCTAssertThrowsError(try reader.skipName()) { XCTAssertEqual($0 as? DNSParseError, .badLabelType) }
        }
        assertSkipFails(message([2, 0x61]), .truncated)
        assertSkipFails(message([0xC0]), .truncated)
        let long = (0..<5).flatMap { _ -> [UInt8] in [63] + Array(repeating: UInt8(0x61), count: 63) } + [0]
        assertSkipFails(message(long), .nameTooLong)
    }

    private func assertSkipFails(_ bytes: [UInt8], _ expected: DNSParseError, line: UInt = #line) {
        let result = bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: 12)
            return Result { () throws(DNSParseError) in try reader.skipName() }
        }
        XCTAssertThrowsError(try result.get(), line: line) {
            XCTAssertEqual($0 as? DNSParseError, expected, line: line)
        }
    }
}
