import XCTest

@testable import Flows

final class IPMatchTests: XCTestCase {
    func testIPv4AddressAndPrefix() {
        let one = IPMatch("10.0.0.2")!
        XCTAssertTrue(one.matches("10.0.0.2"))
        XCTAssertFalse(one.matches("10.0.0.20"))
        let net = IPMatch("10.0.0.0/24")!
        XCTAssertTrue(net.matches("10.0.0.255"))
        XCTAssertFalse(net.matches("10.0.1.0"))
        XCTAssertFalse(net.matches(nil))
        XCTAssertFalse(net.matches("fd00::1"))
        XCTAssertFalse(net.matches("not an address"))
    }

    func testIPv6IsComparedAsTextIgnoringCase() {
        let v6 = IPMatch("FD00::A")!
        XCTAssertTrue(v6.matches("fd00::a"))
        XCTAssertFalse(v6.matches("fd00:0::a"))
        XCTAssertFalse(v6.matches("10.0.0.1"))
    }

    func testRejected() {
        for bad in ["", "10.0.0", "10.0.0.0/33", "fd00::/64", "host.example", "10.0.0.1/"] {
            XCTAssertNil(IPMatch(bad), bad)
        }
    }
}
