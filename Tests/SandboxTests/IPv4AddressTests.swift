import XCTest
@testable import Sandbox

final class IPv4AddressTests: XCTestCase {
    func testParsesAndPrints() {
        XCTAssertEqual(IPv4Address("10.244.1.10")?.value, 0x0AF4_010A)
        XCTAssertEqual(IPv4Address("192.0.2.255")?.description, "192.0.2.255")
        XCTAssertEqual(IPv4Address(0, 0, 0, 0).description, "0.0.0.0")
    }

    func testRejectsMalformed() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "a.b.c.d", "1.2.3.4 ", "-1.2.3.4"] {
            XCTAssertNil(IPv4Address(text), text)
        }
    }

    func testPrefixMembership() {
        let base = IPv4Address(10, 244, 0, 0)
        XCTAssertTrue(IPv4Address(10, 244, 255, 1).isIn(base, prefixLength: 16))
        XCTAssertFalse(IPv4Address(10, 245, 0, 1).isIn(base, prefixLength: 16))
        XCTAssertTrue(IPv4Address(10, 244, 0, 0).isIn(base, prefixLength: 32))
        XCTAssertTrue(IPv4Address(8, 8, 8, 8).isIn(base, prefixLength: 0))
    }
}
