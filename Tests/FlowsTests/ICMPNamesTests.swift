import XCTest

@testable import Flows

/// gopacket's ICMPv4TypeCode/ICMPv6TypeCode String(), as Hubble prints them.
final class ICMPNamesTests: XCTestCase {
    private func v4(_ type: UInt8, _ code: UInt8 = 0) -> String { ICMPNames.v4(Flow.ICMP(type: type, code: code)) }
    private func v6(_ type: UInt8, _ code: UInt8 = 0) -> String { ICMPNames.v6(Flow.ICMP(type: type, code: code)) }

    func testIPv4() {
        XCTAssertEqual(v4(8), "EchoRequest")
        XCTAssertEqual(v4(0), "EchoReply")
        XCTAssertEqual(v4(3, 3), "DestinationUnreachable(Port)")
        XCTAssertEqual(v4(3, 4), "DestinationUnreachable(FragmentationNeeded)")
        XCTAssertEqual(v4(11, 0), "TimeExceeded(TTLExceeded)")
        XCTAssertEqual(v4(11, 7), "TimeExceeded(Code: 7)")
        XCTAssertEqual(v4(8, 1), "EchoRequest(Code: 1)")
        XCTAssertEqual(v4(42), "42(0)")
        XCTAssertEqual(v4(128, 3), "128(3)")
    }

    func testIPv6HasItsOwnNumbers() {
        XCTAssertEqual(v6(128), "EchoRequest")
        XCTAssertEqual(v6(129), "EchoReply")
        XCTAssertEqual(v6(1, 4), "DestinationUnreachable(PortUnreachable)")
        XCTAssertEqual(v6(2), "PacketTooBig")
        XCTAssertEqual(v6(135), "NeighborSolicitation")
        XCTAssertEqual(v6(8), "8(0)")
        XCTAssertEqual(v6(3, 9), "TimeExceeded(Code: 9)")
    }
}
