import SluiceModel
import XCTest

final class IPAddressTests: XCTestCase {
    func testParsesEitherFamily() {
        XCTAssertEqual(IPAddress("10.0.0.1"), .v4(IPv4Address(10, 0, 0, 1)))
        XCTAssertEqual(IPAddress("2001:db8::1"), .v6(IPv6Address("2001:db8::1")!))
        XCTAssertEqual(IPAddress("::ffff:10.0.0.1")?.description, "::ffff:10.0.0.1")
        for text in ["", "10.0.0", "010.0.0.1", "::g", "example.com", "10.0.0.1/32"] {
            XCTAssertNil(IPAddress(text), text)
        }
    }

    func testBytesAndText() {
        XCTAssertEqual(IPAddress.v4(IPv4Address(192, 0, 2, 255)).bytes, [192, 0, 2, 255])
        XCTAssertEqual(IPAddress.v4(IPv4Address(192, 0, 2, 255)).description, "192.0.2.255")
        XCTAssertEqual(IPAddress("fe80::1")?.bytes, [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }
}
