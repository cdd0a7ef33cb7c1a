import XCTest
@testable import DNS

final class IPAddressTests: XCTestCase {
    private func v6(_ groups: [UInt16]) -> IPAddress.V6 {
        let high = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return IPAddress.V6(high: high, low: low)
    }

    func testIPv4() {
        let address = IPAddress.V4(192, 0, 2, 255)
        XCTAssertEqual(address.description, "192.0.2.255")
        XCTAssertEqual(address.bytes, [192, 0, 2, 255])
    }

    func testIPv6RFC5952() {
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]).description, "2001:db8::1")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 0]).description, "::")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 1]).description, "::1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]).description, "2001:db8:0:1:1:1:1:1")
        XCTAssertEqual(v6([0x2001, 0, 0, 1, 0, 0, 0, 1]).description, "2001:0:0:1::1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]).description, "2001:db8::1:0:0:1")
        XCTAssertEqual(v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]).description, "fe80::")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]).description, "::ffff:192.0.2.1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]).bytes,
                       [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }
}
