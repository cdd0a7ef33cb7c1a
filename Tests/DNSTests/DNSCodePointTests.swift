import XCTest

@testable import DNS

/// The shared unlabeled initializer of the 16-bit code points.
final class DNSCodePointTests: XCTestCase {
    func testUnlabeledInitIsInitRawValue() {
        XCTAssertEqual(RRType(28), .aaaa)
        XCTAssertEqual(RRType(65280).rawValue, 65280, "an unnamed type passes through")
        XCTAssertEqual(RRClass(1), .internet)
        XCTAssertEqual(RRClass(42).rawValue, 42)
        XCTAssertEqual(RCode(5), .refused)
    }

    func testUnlabeledInitKeepsTheTypesOwnRule() {
        // RCode's init(rawValue:) keeps 12 bits; the shared initializer must go through it.
        XCTAssertEqual(RCode(0x1003), .nxDomain)
        XCTAssertEqual(RCode(0xFFFF).rawValue, 0x0FFF)
    }

    func testGenericOverCodePoints() {
        func make<C: DNSCodePoint>(_: C.Type, _ value: UInt16) -> UInt16 { C(value).rawValue }
        XCTAssertEqual(make(RRType.self, 0x1003), 0x1003)
        XCTAssertEqual(make(RRClass.self, 0x1003), 0x1003)
        XCTAssertEqual(make(RCode.self, 0x1003), 0x0003)
    }
}
