import SluiceModel
import XCTest

final class IPv4AddressTests: XCTestCase {
    func testParsesAndPrints() {
        XCTAssertEqual(IPv4Address("10.244.1.10")?.hostOrder, 0x0AF4_010A)
        XCTAssertEqual(IPv4Address("192.0.2.255")?.description, "192.0.2.255")
        XCTAssertEqual(IPv4Address("0.0.0.0")?.hostOrder, 0)
        XCTAssertEqual(IPv4Address("255.255.255.255")?.hostOrder, 0xFFFF_FFFF)
        XCTAssertEqual(IPv4Address("100.10.0.1")?.hostOrder, 0x640A_0001)
        XCTAssertEqual(IPv4Address(0, 0, 0, 0).description, "0.0.0.0")
        XCTAssertEqual(IPv4Address("10.0.0.1"[...]), IPv4Address(10, 0, 0, 1))
    }

    func testPrintsEveryOctetInEveryPosition() {
        for octet in 0...255 {
            let b = UInt8(octet)
            XCTAssertEqual(IPv4Address(b, 1, 2, b).description, "\(octet).1.2.\(octet)")
            XCTAssertEqual(IPv4Address(255, b, b, 0).description, "255.\(octet).\(octet).0")
        }
    }

    func testRejectsMalformed() {
        for text in [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.00", "1.2.3.010", "1..2.3", "1.2.3.",
            ".1.2.3", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "-1.2.3.4", "+1.2.3.4", "1.2.3.4/8", "0x1.2.3.4",
            "1000.1.1.1", "1.2.3.4.", "10.1", "1.2.3.-4", "١.٢.٣.٤", "::1",
        ] {
            XCTAssertNil(IPv4Address(text), text)
        }
    }

    func testByteOrders() {
        let address = IPv4Address(10, 0, 1, 23)
        XCTAssertEqual(address.hostOrder, 0x0A00_0117)
        // networkOrder's bytes in memory are the wire bytes, on any host.
        XCTAssertEqual(withUnsafeBytes(of: address.networkOrder) { Array($0) }, [10, 0, 1, 23])
        XCTAssertEqual(IPv4Address(networkOrder: address.networkOrder), address)
        // The agent's map keys: `127.0.0.1` is 0x0100007F read as a little-endian integer.
        XCTAssertEqual(IPv4Address("127.0.0.1")?.networkOrder, UInt32(bigEndian: 0x7F00_0001))
        XCTAssertEqual(IPv4Address(networkOrder: UInt32(bigEndian: 0x0A00_0003)).description, "10.0.0.3")
        XCTAssertEqual(address.bytes, [10, 0, 1, 23])
        XCTAssertEqual(IPv4Address(bytes: [10, 0, 1, 23]), address)
        XCTAssertNil(IPv4Address(bytes: [10, 0, 1]))
        XCTAssertEqual(address.octets.0, 10)
        XCTAssertEqual(address.octets.3, 23)
    }

    func testRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let address = IPv4Address(hostOrder: generator.next())
            XCTAssertEqual(IPv4Address(address.description), address)
        }
    }

    func testPrefixMembershipAndOrder() {
        let base = IPv4Address(10, 244, 0, 0)
        XCTAssertTrue(IPv4Address(10, 244, 255, 1).isIn(base, prefixLength: 16))
        XCTAssertFalse(IPv4Address(10, 245, 0, 1).isIn(base, prefixLength: 16))
        XCTAssertTrue(IPv4Address(10, 244, 0, 0).isIn(base, prefixLength: 32))
        XCTAssertTrue(IPv4Address(8, 8, 8, 8).isIn(base, prefixLength: 0))
        XCTAssertLessThan(IPv4Address(9, 255, 255, 255), IPv4Address(10, 0, 0, 0))
    }
}
