import XCTest

@testable import DNS

final class OPTRecordTests: XCTestCase {
    func testDecodesClassAndTTLFields() throws {
        // TTL 0x01_00_8001: extended rcode 1, version 0, DO and one Z bit.
        let record = try OPTRecord(class: 1232, ttl: 0x0100_8001, options: [])
        XCTAssertEqual(record.udpPayloadSize, 1232)
        XCTAssertEqual(record.extendedRcode, 1)
        XCTAssertEqual(record.version, 0)
        XCTAssertTrue(record.dnssecOK)
        XCTAssertEqual(record.zFlags, 1)
        let versioned = try OPTRecord(class: 512, ttl: 0x0002_0000, options: [])
        XCTAssertEqual(versioned.version, 2)
        XCTAssertFalse(versioned.dnssecOK)
        XCTAssertEqual(versioned.extendedRcode, 0)
    }

    func testTTLFieldTakesTheExtendedBitsFromTheRcode() {
        let record = OPTRecord(udpPayloadSize: 4096, extendedRcode: 7, version: 1, dnssecOK: true, zFlags: 0x0002)
        XCTAssertEqual(record.ttlField(rcode: .badVers), 0x0101_8002)
        XCTAssertEqual(record.ttlField(rcode: .nxDomain), 0x0001_8002)
    }

    func testZFlagsCannotSetTheDOBit() {
        let record = OPTRecord(udpPayloadSize: 512, zFlags: 0xFFFF)
        XCTAssertEqual(record.zFlags, 0x7FFF)
        XCTAssertFalse(record.dnssecOK)
        XCTAssertEqual(record.ttlField(rcode: .noError), 0x0000_7FFF)
    }

    func testOptionsMustTileExactly() throws {
        let cookie: [UInt8] = [0x00, 0x0A, 0x00, 0x02, 0xAA, 0xBB]
        let padding: [UInt8] = [0x00, 0x0C, 0x00, 0x00]
        let record = try OPTRecord(class: 1232, ttl: 0, options: cookie + padding)
        XCTAssertEqual(record.options, cookie + padding)
        XCTAssertEqual(record.wireSize, 11 + 10)
        for bad in [[0x00, 0x0A, 0x00], [0x00, 0x0A, 0x00, 0x03, 0xAA, 0xBB], cookie + [0x00]] as [[UInt8]] {
            XCTAssertThrowsError(try OPTRecord(class: 1232, ttl: 0, options: bad), "\(bad)") {
                XCTAssertEqual($0 as? DNSParseError, .badOPT)
            }
        }
    }

    func testFixtureFromDig() throws {
        let bytes = Fixtures.queryExampleAWithOPT
        let message = try bytes.withUnsafeBytes { try DNSParser.parse($0) }
        let opt = try XCTUnwrap(message.opt)
        XCTAssertEqual(opt.udpPayloadSize, 1232)
        XCTAssertTrue(opt.dnssecOK)
        XCTAssertEqual(opt.options.count, 12)
        XCTAssertEqual(opt.wireSize, Fixtures.optRecord.count)
        XCTAssertTrue(message.additionals.isEmpty)
    }
}
