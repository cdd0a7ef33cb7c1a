import XCTest

@testable import DNS

final class RCodeTests: XCTestCase {
    func testValueIsTwelveBits() {
        XCTAssertEqual(RCode(0xFFFF).rawValue, 0x0FFF)
        XCTAssertEqual(RCode(rawValue: 0x1003), .nxDomain)
    }

    func testSplitIntoHeaderAndExtendedBits() {
        XCTAssertEqual(RCode.nxDomain.headerBits, 3)
        XCTAssertEqual(RCode.nxDomain.extendedBits, 0)
        XCTAssertEqual(RCode.badVers.headerBits, 0)
        XCTAssertEqual(RCode.badVers.extendedBits, 1)
        let code = RCode(0xABC)
        XCTAssertEqual(code.headerBits, 0x0C)
        XCTAssertEqual(code.extendedBits, 0xAB)
        XCTAssertEqual(RCode(UInt16(code.extendedBits) << 4 | UInt16(code.headerBits)), code)
    }

    func testNames() {
        XCTAssertEqual(RCode.noError.shortName, "NOERROR")
        XCTAssertEqual(RCode.nxDomain.shortName, "NXDOMAIN")
        XCTAssertEqual(RCode.refused.description, "REFUSED")
        XCTAssertEqual(RCode.badVers.shortName, "BADSIG")
        XCTAssertEqual(RCode(11).shortName, "RCODE11")
        XCTAssertEqual(RCode.nxDomain.hubbleName, "Non-Existent Domain")
        XCTAssertEqual(RCode.servFail.hubbleName, "Server Failure")
        XCTAssertEqual(RCode(23).hubbleName, "Bad/missing server cookie")
        XCTAssertEqual(RCode(11).hubbleName, "")
    }
}
