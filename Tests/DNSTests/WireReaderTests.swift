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

    func testReadRecordFieldsReadsTheTenFixedBytes() throws {
        // TYPE A, CLASS IN, TTL 3600, RDLENGTH 4, then the rdata.
        let record: [UInt8] = [0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x04, 10, 0, 0, 1]
        try record.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            let fields = try reader.readRecordFields()
            XCTAssertEqual(fields.type, .a)
            XCTAssertEqual(fields.rawClass, 1)
            XCTAssertEqual(fields.ttl, 3600)
            XCTAssertEqual(fields.length, 4)
            XCTAssertEqual(reader.offset, 10)
        }
        try Array(record[0..<9]).withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            XCTAssertThrowsError(try reader.readRecordFields()) { XCTAssertEqual($0 as? DNSParseError, .truncated) }
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
