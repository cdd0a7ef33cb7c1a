import Flows
import XCTest

@testable import HubbleProto

final class FlowFilterProtoTests: XCTestCase {
    func testPackedAndUnpackedEnumsAndRoundTrip() throws {
        var c = FlowFilter.Criteria()
        c.sourcePod = ["default/client"]
        c.verdict = [1, 2]
        c.eventType = [FlowFilter.EventTypeCriterion(type: 4, subType: 101)]
        c.tcpFlags = [(flags: [.syn], ns: false)]
        c.httpHeader = [Flow.HTTP.Header(key: "k", value: "v")]
        c.sourceIdentity = [7]
        XCTAssertEqual(try FlowFilterProto.decode(FlowFilterProto.encode(c)[...]), c)
        var w = ProtoWriter()
        w.uint(5, 2)
        w.uint(5, 1)
        XCTAssertEqual(try FlowFilterProto.decode(w.bytes[...]).verdict, [2, 1], "unpacked elements")
    }

    func testFieldsWithoutACriterionAreNamed() throws {
        var w = ProtoWriter()
        w.string(16, "svc")
        w.string(18, "q")
        w.string(16, "svc2")
        XCTAssertEqual(try FlowFilterProto.decode(w.bytes[...]).unsupported, ["source_service", "dns_query"])
    }
}
