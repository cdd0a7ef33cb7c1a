import CSluiceShared
import XCTest

@testable import Flows

/// The L7 verdict detail of HTTP request records (`sluice_flow_http.reason` / `header_actions`,
/// `Flow.l7Verdict`): written, decoded, carried in Hubble's JSON as two header entries.
final class FlowL7VerdictTests: XCTestCase {
    private typealias F = FlowFixtures

    private func request(_ verdict: Flow.L7Verdict?, type: Flow.L7FlowType = .request) -> (sluice_flow, Flow) {
        let common = F.common(.dropped, from: F.client, 43210, to: F.server, 80, time: F.monotonicBase)
        return F.record { p in
            F.bytes("GET") { m in
                F.bytes("server") { a in
                    F.bytes("/x") { path in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: type, method: m, scheme: "http",
                            authority: a, path: path, code: type == .response ? 403 : 0, latencyNs: 0,
                            proto: .http2, verdict: verdict)
                    }
                }
            }
        }
    }

    func testReasonAndHeaderActionsRoundTripThroughTheRecord() {
        let detail = Flow.L7Verdict(reason: .noRuleMatched, headerActions: [.add, .replace])
        let (rec, flow) = request(detail)
        XCTAssertEqual(rec.l7.http.reason, UInt8(SLUICE_L7_REASON_NO_RULE_MATCHED.rawValue))
        XCTAssertEqual(rec.l7.http.header_actions, UInt8(SLUICE_HEADER_ACTION_ADD | SLUICE_HEADER_ACTION_REPLACE))
        XCTAssertEqual(flow.l7Verdict, detail)
        XCTAssertEqual(flow.l7?.http?.url, "http://server/x", "the detail sits in padding: the HTTP fields are intact")
        for reason in Flow.L7Reason.allCases {
            XCTAssertEqual(request(Flow.L7Verdict(reason: reason)).1.l7Verdict?.reason, reason)
        }
    }

    func testTheCAndSwiftReasonNumbersAgree() {
        let pairs: [(Flow.L7Reason, sluice_l7_reason)] = [
            (.ruleMatched, SLUICE_L7_REASON_RULE_MATCHED), (.l4OnlyAllow, SLUICE_L7_REASON_L4_ONLY_ALLOW),
            (.localhost, SLUICE_L7_REASON_LOCALHOST), (.notEnforced, SLUICE_L7_REASON_NOT_ENFORCED),
            (.noRuleMatched, SLUICE_L7_REASON_NO_RULE_MATCHED), (.deniedByPolicy, SLUICE_L7_REASON_DENIED_BY_POLICY),
            (.peerNotAllowed, SLUICE_L7_REASON_PEER_NOT_ALLOWED), (.parserMismatch, SLUICE_L7_REASON_PARSER_MISMATCH),
            (.notSteered, SLUICE_L7_REASON_NOT_STEERED),
        ]
        XCTAssertEqual(pairs.count, Flow.L7Reason.allCases.count)
        for (swift, c) in pairs { XCTAssertEqual(UInt32(swift.rawValue), c.rawValue, "\(swift)") }
        XCTAssertEqual(Flow.HeaderActions.log.rawValue, UInt8(SLUICE_HEADER_ACTION_LOG))
        XCTAssertEqual(Flow.HeaderActions.add.rawValue, UInt8(SLUICE_HEADER_ACTION_ADD))
        XCTAssertEqual(Flow.HeaderActions.delete.rawValue, UInt8(SLUICE_HEADER_ACTION_DELETE))
        XCTAssertEqual(Flow.HeaderActions.replace.rawValue, UInt8(SLUICE_HEADER_ACTION_REPLACE))
        XCTAssertEqual(
            MemoryLayout<sluice_flow_http>.size, 928,
            "the HTTP record fills the union (request headers at its end)")
    }

    func testNoDetailOnResponsesUnknownReasonsOrOldRecords() {
        XCTAssertNil(request(nil).1.l7Verdict, "a record written without detail (reason 0)")
        XCTAssertNil(request(Flow.L7Verdict(reason: .ruleMatched), type: .response).1.l7Verdict)
        var (rec, _) = request(Flow.L7Verdict(reason: .ruleMatched))
        rec.l7.http.reason = 200
        XCTAssertNil(
            Flow.decode(rec, directory: F.directory, monotonicToWallOffsetNs: 0).l7Verdict,
            "a reason this build does not know names nothing")
    }

    /// `-o json` carries the detail as two `l7.http.headers` entries whose names no request can
    /// send (flow.proto shape kept), and reading the line back restores `l7Verdict`.
    func testHubbleJSONCarriesTheDetailAsHeadersAndReadsItBack() throws {
        let (_, flow) = request(Flow.L7Verdict(reason: .deniedByPolicy, headerActions: [.log, .add]))
        let json = FlowPrinter.json(flow)
        XCTAssertTrue(
            json.contains(
                #""headers":[{"key":":sluice-header-actions","value":"LOG,ADD"},"#
                    + #"{"key":":sluice-reason","value":"denied-by-policy"}]"#), json)
        XCTAssertFalse(json.contains("drop_reason"), "an L7 denial carries no drop reason, as in Cilium")
        let back = try XCTUnwrap(try Flow.fromJSON(json))
        XCTAssertEqual(back.l7Verdict, Flow.L7Verdict(reason: .deniedByPolicy, headerActions: [.log, .add]))
        XCTAssertEqual(back.l7?.http?.headers, [], "the detail is not a header of the request")

        let plain = request(Flow.L7Verdict(reason: .ruleMatched)).1
        XCTAssertTrue(FlowPrinter.json(plain).contains(#""headers":[{"key":":sluice-reason","value":"rule-matched"}]"#))
        let response = request(nil, type: .response).1
        XCTAssertFalse(FlowPrinter.json(response).contains("headers"), "no detail, no entries")
        XCTAssertEqual(Flow.HeaderActions([.log, .delete]).description, "LOG,DELETE")
        XCTAssertEqual(Flow.HeaderActions(text: "DELETE,LOG,BOGUS"), [.log, .delete])
        XCTAssertEqual(Flow.L7Reason.deniedByPolicy.description, "denied-by-policy")
    }

    func testEveryReasonHasItsText() {
        XCTAssertEqual(
            Flow.L7Reason.allCases.map(\.description),
            [
                "rule-matched", "l4-only-allow", "localhost", "not-enforced", "no-rule-matched", "denied-by-policy",
                "peer-not-allowed", "parser-mismatch", "not-steered",
            ])
    }
}
