import XCTest

@testable import Flows

final class FlowUUIDTests: XCTestCase {
    func testLayoutIsFNVOfTheSeedThenTheSequenceWithVersion8() {
        // FNV-1a 64 of "" is the offset basis cbf29ce484222325; version nibble 8, variant 10.
        XCTAssertEqual(FlowUUID.make(seed: "", seq: 0), "cbf29ce4-8422-8325-8000-000000000000")
        XCTAssertEqual(FlowUUID.make(seed: "", seq: 0x0102_0304_0506_0708), "cbf29ce4-8422-8325-8102-030405060708")
        // FNV-1a 64 of "a" is af63dc4c8601ec8c.
        XCTAssertEqual(FlowUUID.make(seed: "a", seq: 1), "af63dc4c-8601-8c8c-8000-000000000001")
    }

    func testSameInputSameUUIDOtherwiseDifferent() {
        let one = FlowUUID.make(seed: "boot-1:42:7", seq: 9)
        XCTAssertEqual(one, FlowUUID.make(seed: "boot-1:42:7", seq: 9))
        XCTAssertNotEqual(one, FlowUUID.make(seed: "boot-2:42:7", seq: 9))
        XCTAssertNotEqual(one, FlowUUID.make(seed: "boot-1:42:7", seq: 10))
        XCTAssertEqual(one.count, 36)
        XCTAssertEqual(Array(one)[14], "8")
        XCTAssertTrue("89ab".contains(Array(one)[19]))
    }

    func testUUIDIsStableAndVersion8() {
        let a = FlowUUID.make(seed: "boot-1/42", seq: 1000)
        XCTAssertEqual(a, FlowUUID.make(seed: "boot-1/42", seq: 1000), "same record, same uuid")
        XCTAssertNotEqual(a, FlowUUID.make(seed: "boot-1/42", seq: 1001))
        XCTAssertNotEqual(a, FlowUUID.make(seed: "boot-2/42", seq: 1000))
        let parts = a.split(separator: "-").map(\.count)
        XCTAssertEqual(parts, [8, 4, 4, 4, 12])
        let chars = Array(a)
        XCTAssertEqual(chars[14], "8", "version 8")
        XCTAssertTrue("89ab".contains(chars[19]), "RFC 9562 variant")
        XCTAssertTrue(a.hasSuffix("3e8"), "the sequence number is in the last bytes")
    }
}
