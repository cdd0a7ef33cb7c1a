import SluiceModel
import XCTest

final class IPv6AddressTests: XCTestCase {
    private func v6(_ groups: [UInt16]) -> IPv6Address {
        IPv6Address(groups: groups)!
    }

    func testPrintsRFC5952() {
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]).description, "2001:db8::1")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 0]).description, "::")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 1]).description, "::1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]).description, "2001:db8:0:1:1:1:1:1")
        XCTAssertEqual(v6([0x2001, 0, 0, 1, 0, 0, 0, 1]).description, "2001:0:0:1::1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]).description, "2001:db8::1:0:0:1")
        XCTAssertEqual(v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]).description, "fe80::")
        XCTAssertEqual(v6([0x2001, 0xDB8, 0xABCD, 0, 0, 0, 0, 0x0F]).description, "2001:db8:abcd::f")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]).description, "::ffff:192.0.2.1")
        XCTAssertEqual(
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]).bytes,
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }

    func testParses() {
        XCTAssertEqual(IPv6Address("2001:db8::1"), v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
        XCTAssertEqual(IPv6Address("::"), v6([0, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(IPv6Address("::1"), v6([0, 0, 0, 0, 0, 0, 0, 1]))
        XCTAssertEqual(IPv6Address("fe80::"), v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(IPv6Address("2001:DB8:0:0:0:0:0:0001"), v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]))
        XCTAssertEqual(IPv6Address("1:2:3:4:5:6:7::"), v6([1, 2, 3, 4, 5, 6, 7, 0]))
        XCTAssertEqual(IPv6Address("::2:3:4:5:6:7:8"), v6([0, 2, 3, 4, 5, 6, 7, 8]))
        XCTAssertEqual(IPv6Address("::ffff:192.0.2.1"), v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]))
        XCTAssertEqual(IPv6Address("1:2:3:4:5:6:10.0.0.1"), v6([1, 2, 3, 4, 5, 6, 0x0a00, 0x0001]))
        XCTAssertEqual(IPv6Address("::ffff:192.0.2.1")?.mappedIPv4, IPv4Address(192, 0, 2, 1))
        XCTAssertEqual(IPv6Address(mapping: IPv4Address(192, 0, 2, 1)).description, "::ffff:192.0.2.1")
    }

    func testRejectsMalformed() {
        for text in [
            "", ":", ":::", "1:::2", "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::", "::1 ",
            " ::1", "fe80::1%eth0", "[::1]", "1.2.3.4", "::ffff:1.2.3", "::ffff:01.2.3.4",
            "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "::-1",
        ] {
            XCTAssertNil(IPv6Address(text), text)
        }
    }

    func testRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            // Random groups with many zeros, so `::` runs of every length occur.
            let groups = (0..<8).map { _ in generator.next() % 3 == 0 ? UInt16(generator.next() & 0xFFFF) : 0 }
            let address = v6(groups)
            XCTAssertEqual(IPv6Address(address.description), address, address.description)
            XCTAssertEqual(IPv6Address(bytes: address.bytes), address)
            XCTAssertEqual(address.groups, groups)
        }
    }
}
