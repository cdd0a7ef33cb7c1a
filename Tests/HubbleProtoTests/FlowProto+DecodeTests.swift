import Flows
import XCTest

@testable import HubbleProto

final class FlowProtoDecodeTests: XCTestCase {
    func testUnknownFieldsAreSkippedAndBadTimestampsRefused() throws {
        var w = ProtoWriter()
        w.string(11, "node")
        w.uint(35, 2)  // auth_type: not modelled
        w.message(4) { $0.string(1, "aa:bb") }  // ethernet: not modelled
        XCTAssertEqual(try FlowProto.decode(w.bytes[...]).nodeName, "node")
        var bad = ProtoWriter()
        bad.timestamp(1, seconds: 1, nanos: 1_000_000_000)
        XCTAssertThrowsError(try FlowProto.decode(bad.bytes[...]))
        XCTAssertThrowsError(try FlowProto.decode([0x2A, 0x02, 0xFF, 0xFF][...]), "a broken IP message")
    }
}
