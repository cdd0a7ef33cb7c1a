import Flows
import XCTest

@testable import HubbleProto

final class FlowProtoMaskTests: XCTestCase {
    private func masked(_ f: Flow, _ paths: [String]) throws -> Flow {
        let mask = try FlowProtoMask(paths: paths)
        var w = ProtoWriter()
        mask.apply(to: FlowProto.encode(f)[...], into: &w)
        return try FlowProto.decode(w.bytes[...])
    }

    func testOnlyTheRequestedFieldsAreEncodedWholeOrBelowAField() throws {
        let f = FlowProtoTests.richFlow()
        var expected = Flow()
        expected.verdict = f.verdict
        expected.source = FlowEndpoint(namespace: "default")
        expected.l7 = Flow.Layer7(type: .unknown, record: .http(Flow.HTTP(code: 403)))
        expected.destination = f.destination
        XCTAssertEqual(
            try masked(f, ["verdict", "source.namespace", "l7.http.code", "destination"]), expected)
        // a path to a field the flow does not have adds nothing (the sub-message stays empty)
        var tcpOnly = Flow()
        tcpOnly.l4 = .tcp(Flow.TCP(sourcePort: 40000, destinationPort: 0, flags: nil))
        XCTAssertEqual(try masked(f, ["l4.TCP.source_port", "l4.UDP"]), tcpOnly)
        XCTAssertEqual(try masked(f, ["IP.source"]).ip?.source, "10.244.1.11")
        XCTAssertEqual(try masked(f, ["IP.source"]).ip?.destination, "")
        // every field of a message, and no mask: the whole flow
        XCTAssertEqual(try masked(f, ["time", "time.seconds"]).time, f.time)
        XCTAssertFalse(FlowProtoMask().isActive)
        XCTAssertEqual(try masked(f, []), f)
    }

    func testPathsNamingNoFieldAreRefusedWithTheirName() {
        for (path, message) in [
            ("nope", "invalid field mask path \"nope\": no field \"nope\""),
            ("source.pod", "invalid field mask path \"source.pod\": no field \"pod\""),
            ("verdict.x", "invalid field mask path \"verdict.x\": \"x\" is below a field that is no message"),
            ("source.", "invalid field mask path \"source.\": no field \"\""),
        ] {
            XCTAssertThrowsError(try FlowProtoMask(paths: [path]), path) {
                XCTAssertEqual(($0 as? FlowProtoMask.Error)?.description, message)
            }
        }
    }

    func testAMaskedResponseKeepsItsNodeNameAndTimeAndTheRequestCarriesThePaths() throws {
        let f = FlowProtoTests.richFlow()
        let mask = try FlowProtoMask(paths: ["uuid"])
        let framed = GetFlowsResponse.framedFlow(f, mask: mask)
        guard case .message(let message, _) = GRPCWire.deframe(framed[...]),
            case .flow(let decoded) = try GetFlowsResponse.decode(message)
        else { return XCTFail("not one flow response") }
        XCTAssertEqual(decoded.uuid, "u")
        XCTAssertEqual(decoded.verdict, .unknown)
        XCTAssertEqual(decoded.source, nil)
        var request = GetFlowsRequest()
        request.fieldMask = ["uuid", "source.namespace"]
        XCTAssertEqual(try GetFlowsRequest(bytes: request.bytes[...]).fieldMask, ["uuid", "source.namespace"])
    }
}
