import XCTest

@testable import HubbleProto

final class GRPCWireTests: XCTestCase {
    func testFramingSplitAtEveryOffset() {
        let framed = GRPCWire.frame([1, 2, 3])
        XCTAssertEqual(framed, [0, 0, 0, 0, 3, 1, 2, 3])
        for cut in 0..<framed.count { XCTAssertEqual(GRPCWire.deframe(framed[..<cut]), .needMore) }
        XCTAssertEqual(GRPCWire.deframe((framed + [9])[...]), .message([1, 2, 3][...], consumed: 8))
        XCTAssertEqual(GRPCWire.deframe([1, 0, 0, 0, 0][...]), .invalid("compressed messages are not supported"))
        XCTAssertEqual(
            GRPCWire.deframe([0, 0xFF, 0, 0, 0][...]),
            .invalid("message of 4278190080 bytes exceeds the limit of 4194304"))
    }

    func testTimeoutsAndMessages() {
        XCTAssertEqual(GRPCWire.timeoutNs("10S"), 10_000_000_000)
        XCTAssertEqual(GRPCWire.timeoutNs("250m"), 250_000_000)
        XCTAssertEqual(GRPCWire.timeoutNs("1H"), 3_600_000_000_000)
        XCTAssertEqual(GRPCWire.timeoutNs("99999999H"), UInt64.max)
        for bad in ["", "S", "10", "10x", "123456789S", "-1S"] { XCTAssertNil(GRPCWire.timeoutNs(bad), bad) }
        XCTAssertEqual(GRPCWire.percentEncoded("a%b\r\né"), "a%25b%0D%0A%C3%A9")
        XCTAssertEqual(GRPCWire.percentDecoded("a%25b%0D%0A%C3%A9"), "a%b\r\né")
        XCTAssertEqual(GRPCWire.percentDecoded("%zz%"), "%zz%")
    }
}
