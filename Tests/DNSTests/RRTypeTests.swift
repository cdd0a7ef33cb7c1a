import XCTest

@testable import DNS

final class RRTypeTests: XCTestCase {
    func testHubbleTypeNames() {
        XCTAssertEqual(RRType.a.name, "A")
        XCTAssertEqual(RRType.aaaa.name, "AAAA")
        XCTAssertEqual(RRType.cname.name, "CNAME")
        XCTAssertEqual(RRType.srv.name, "SRV")
        XCTAssertEqual(RRType.https.name, "HTTPS")
        XCTAssertEqual(RRType(65280).name, "TYPE65280")
        XCTAssertEqual(RRType(54).name, "TYPE54")
        XCTAssertEqual(RRClass.internet.description, "IN")
        XCTAssertEqual(RRClass(42).description, "CLASS42")
    }

    func testRcodeNames() {
        let hubble = [RCode.noError, .formErr, .servFail, .nxDomain, .notImp, .refused].map(\.hubbleName)
        XCTAssertEqual(
            hubble,
            [
                "No Error", "Format Error", "Server Failure", "Non-Existent Domain",
                "Not Implemented", "Query Refused",
            ])
        let short = [RCode.noError, .formErr, .servFail, .nxDomain, .notImp, .refused].map(\.shortName)
        XCTAssertEqual(short, ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"])
        XCTAssertEqual(RCode(4000).shortName, "RCODE4000")
        XCTAssertEqual(RCode(0xFFFF).rawValue, 0x0FFF)
        XCTAssertEqual(RCode.badVers.headerBits, 0)
        XCTAssertEqual(RCode.badVers.extendedBits, 1)
    }

    func testHeaderFlagsRoundTrip() {
        for flags in stride(from: 0, through: 0xFFFF, by: 1) {
            XCTAssertEqual(DNSHeader(id: 0, flags: UInt16(flags)).flags, UInt16(flags))
        }
    }
}
