import XCTest

@testable import DNS

final class WireReaderTests: XCTestCase {
    private let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B]

    func testReadsAreBigEndianAndAdvance() throws {
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            XCTAssertEqual(try reader.readU8(), 0x01)
            XCTAssertEqual(try reader.readU16(), 0x0203)
            XCTAssertEqual(try reader.readU32(), 0x0405_0607)
            XCTAssertEqual(reader.offset, 7)
            XCTAssertEqual(reader.remaining, 4)
            XCTAssertEqual(try reader.readBytes(3), [0x08, 0x09, 0x0A])
            XCTAssertFalse(reader.isAtEnd)
            XCTAssertEqual(try reader.readU8(), 0x0B)
            XCTAssertTrue(reader.isAtEnd)
        }
    }

    func testReadU64JoinsTwoWords() throws {
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: 1)
            XCTAssertEqual(try reader.readU64(), 0x0203_0405_0607_0809)
            XCTAssertEqual(reader.remaining, 2)
        }
    }

    func testEveryReadPastTheEndThrowsTruncatedAndLeavesTheCursor() throws {
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: 10)
            XCTAssertThrowsError(try reader.readU16()) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.readU32()) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.readU64()) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.readBytes(2)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.readBytes(-1)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.skip(2)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.skip(-1)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertEqual(reader.offset, 10)
            XCTAssertEqual(try? reader.readU8(), 0x0B)
            XCTAssertThrowsError(try reader.readU8()) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
        }
    }

    func testSeekAndByteAtAreChecked() throws {
        try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            try reader.seek(to: 11)
            XCTAssertTrue(reader.isAtEnd)
            XCTAssertThrowsError(try reader.seek(to: 12)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.seek(to: -1)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            try reader.seek(to: 4)
            XCTAssertEqual(try reader.readU8(), 0x05)
            XCTAssertEqual(try reader.byte(at: 0), 0x01)
            XCTAssertEqual(try reader.byte(at: 10), 0x0B)
            XCTAssertThrowsError(try reader.byte(at: 11)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertThrowsError(try reader.byte(at: -1)) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
            XCTAssertEqual(reader.offset, 5)
        }
    }

    func testInitialOffsetIsClampedIntoTheMessage() {
        bytes.withUnsafeBytes { buffer in
            XCTAssertEqual(WireReader(buffer, offset: -5).offset, 0)
            XCTAssertEqual(WireReader(buffer, offset: 99).offset, 11)
            XCTAssertTrue(WireReader(buffer, offset: 99).isAtEnd)
        }
    }
}
