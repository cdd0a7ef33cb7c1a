import XCTest

@testable import Flows

/// Exported JSON read back (`--input-file`): every example flow survives `-o json` unchanged, policy
/// names included; non-flow lines are skipped and broken ones refused. Flows are the §5.4 examples
/// (see `FlowFilterTests`).
final class FlowJSONDecodeTests: XCTestCase {
    private let flows = FlowFixtures.compactExamples

    /// Every example flow survives `-o json` and `--input-file` unchanged (JSON and compact alike).
    func testJSONRoundTrip() throws {
        for (i, original) in flows.enumerated() {
            var f = original
            f.uuid = FlowUUID.make(seed: "s", seq: UInt64(i))
            f.emitter = .sluice
            let json = FlowPrinter.json(f)
            let back = try XCTUnwrap(Flow.fromJSON(json))
            XCTAssertEqual(FlowPrinter.json(back), json)
            XCTAssertEqual(FlowPrinter.compact(back, timeZone: .utc), FlowPrinter.compact(f, timeZone: .utc))
            XCTAssertEqual(try XCTUnwrap(Flow.fromJSON(FlowPrinter.flowJSON(f))).uuid, f.uuid, "legacy bare Flow")
        }
    }

    /// The policies that allowed or denied a flow (`*_allowed_by`, `*_denied_by`) come back too.
    func testJSONRoundTripKeepsPolicyNames() throws {
        var f = flows[0]
        f.uuid = FlowUUID.make(seed: "p", seq: 1)
        f.egressAllowedBy = [Flow.Policy(name: "visibility", namespace: "frontend", kind: "CiliumNetworkPolicy")]
        f.ingressDeniedBy = [Flow.Policy(name: "only-status-200", namespace: "backend", kind: "CiliumNetworkPolicy")]
        f.ingressAllowedBy = [Flow.Policy(name: "all", namespace: "", kind: "CiliumClusterwideNetworkPolicy")]
        let json = FlowPrinter.json(f)
        XCTAssertTrue(json.contains("\"ingress_denied_by\""), json)
        let back = try XCTUnwrap(Flow.fromJSON(json))
        XCTAssertEqual(back.egressAllowedBy, f.egressAllowedBy)
        XCTAssertEqual(back.ingressDeniedBy, f.ingressDeniedBy)
        XCTAssertEqual(back.ingressAllowedBy, f.ingressAllowedBy)
        XCTAssertEqual(FlowPrinter.json(back), json)
    }

    func testExportedJSONErrorsAndNonFlows() {
        XCTAssertNil(try Flow.fromJSON("{\"lost_events\":{\"num_events_lost\":\"3\"}}"))
        XCTAssertThrowsError(try Flow.fromJSON("{\"flow\":"))
        XCTAssertThrowsError(try Flow.fromJSON("[1]"))
        XCTAssertThrowsError(try Flow.fromJSON("{\"flow\":{\"time\":\"yesterday\"}}"))
    }
}
