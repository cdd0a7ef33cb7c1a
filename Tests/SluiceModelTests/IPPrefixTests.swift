import SluiceModel
import XCTest

final class IPPrefixTests: XCTestCase {
    func testIPv4Parses() throws {
        let prefix = try XCTUnwrap(IPv4Prefix("10.1.2.3/8"))
        XCTAssertEqual(prefix.address, IPv4Address(10, 0, 0, 0))
        XCTAssertEqual(prefix.length, 8)
        XCTAssertEqual(prefix.description, "10.0.0.0/8")
        XCTAssertEqual(prefix.mask, 0xFF00_0000)
        XCTAssertEqual(IPv4Prefix("0.0.0.0/0")?.mask, 0)
        XCTAssertEqual(IPv4Prefix("192.0.2.1")?.description, "192.0.2.1/32")
        XCTAssertNil(IPv4Prefix("192.0.2.1", bareAllowed: false))
        XCTAssertEqual(IPv4Prefix("192.0.2.1/32", bareAllowed: false)?.length, 32)
    }

    func testIPv4RejectsMalformed() {
        for text in [
            "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0/8",
            "010.0.0.0/8", "10.0.0.0/8/8", "10.0.0.0/ 8", "::/0",
        ] {
            XCTAssertNil(IPv4Prefix(text), text)
        }
    }

    func testIPv4Containment() throws {
        let wide = try XCTUnwrap(IPv4Prefix("10.0.0.0/8"))
        let narrow = try XCTUnwrap(IPv4Prefix("10.1.0.0/16"))
        XCTAssertTrue(narrow.isInside(wide))
        XCTAssertFalse(wide.isInside(narrow))
        XCTAssertTrue(wide.contains(IPv4Address(10, 255, 0, 1)))
        XCTAssertFalse(wide.contains(IPv4Address(11, 0, 0, 1)))
        XCTAssertLessThan(wide, narrow)
    }

    func testIPv6() throws {
        let prefix = try XCTUnwrap(IPv6Prefix("2001:db8::1/32"))
        XCTAssertEqual(prefix.description, "2001:db8::/32")
        XCTAssertEqual(IPv6Prefix("::1")?.length, 128)
        XCTAssertEqual(IPv6Prefix("2001:db8::ffff:1/100")?.description, "2001:db8::f000:0/100")
        XCTAssertNil(IPv6Prefix("::1", bareAllowed: false))
        for text in ["::/129", "::/", "10.0.0.0/8", "::/01", "g::/8"] {
            XCTAssertNil(IPv6Prefix(text), text)
        }
    }
}
