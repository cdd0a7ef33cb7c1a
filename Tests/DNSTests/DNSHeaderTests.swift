import XCTest

@testable import DNS

final class DNSHeaderTests: XCTestCase {
    func testEachFlagHasItsOwnBit() {
        let cases: [(DNSHeader, UInt16)] = [
            (DNSHeader(qr: true), 0x8000),
            (DNSHeader(opcode: 5), 0x2800),
            (DNSHeader(aa: true), 0x0400),
            (DNSHeader(tc: true), 0x0200),
            (DNSHeader(rd: true), 0x0100),
            (DNSHeader(ra: true), 0x0080),
            (DNSHeader(z: true), 0x0040),
            (DNSHeader(ad: true), 0x0020),
            (DNSHeader(cd: true), 0x0010),
            (DNSHeader(rcode: .refused), 0x0005),
        ]
        for (header, flags) in cases {
            XCTAssertEqual(header.flags, flags, "\(header)")
            var expected = header
            expected.id = 9
            XCTAssertEqual(DNSHeader(id: 9, flags: flags), expected, String(flags, radix: 16))
        }
    }

    func testTypicalResponseFlags() {
        // 0x8180: QR, RD, RA, NOERROR, what a recursive resolver answers.
        let header = DNSHeader(id: 0xABCD, flags: 0x8180)
        XCTAssertEqual(header.id, 0xABCD)
        XCTAssertTrue(header.qr)
        XCTAssertTrue(header.rd)
        XCTAssertTrue(header.ra)
        XCTAssertFalse(header.aa || header.tc || header.z || header.ad || header.cd)
        XCTAssertEqual(header.opcode, 0)
        XCTAssertEqual(header.rcode, .noError)
        XCTAssertEqual(DNSHeader(id: 1, flags: 0x8183).rcode, .nxDomain)
    }

    func testOpcodeIsMaskedToFourBits() {
        XCTAssertEqual(DNSHeader(opcode: 0x12).opcode, 0x02)
        XCTAssertEqual(DNSHeader(opcode: 0x0F).flags, 0x7800)
    }

    func testFlagsCarryOnlyTheLowRcodeBits() {
        // BADVERS (16) lives entirely in the OPT record's extended bits.
        XCTAssertEqual(DNSHeader(rcode: .badVers).flags, 0x0000)
        XCTAssertEqual(DNSHeader(rcode: RCode(0x123)).flags, 0x0003)
    }
}
