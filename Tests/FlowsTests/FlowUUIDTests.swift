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
}
