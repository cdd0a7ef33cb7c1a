import Flows
import XCTest

@testable import HubbleMetrics

final class PolicyHandlerTests: XCTestCase {
    func testPolicyVerdictAndL7Events() throws {
        let h = try PolicyHandler(MetricsConfig.Metric(name: "policy"))
        XCTAssertEqual(h.counter.name, "hubble_policy_verdicts_total")
        XCTAssertEqual(h.counter.labelNames, ["direction", "match", "action"])
        var verdict = FlowFixtures.tcpTrace(.syn)
        verdict.eventType = Flow.EventType(type: Flow.EventType.policyVerdict)
        verdict.policyMatchType = 2
        h.process(verdict)
        verdict.verdict = .redirected
        verdict.policyMatchType = 3
        h.process(verdict)
        verdict.source?.identity = PolicyHandler.hostIdentity  // from the host: not counted
        h.process(verdict)
        h.process(FlowFixtures.http(verdict: .dropped))
        h.process(FlowFixtures.http(code: 200, direction: .ingress))
        h.process(FlowFixtures.dns())
        h.process(FlowFixtures.tcpTrace(.syn))  // a trace: not a verdict
        XCTAssertEqual(h.counter.value(["egress", "l3-l4", "forwarded"]), 1)
        XCTAssertEqual(h.counter.value(["egress", "l4-only", "redirected"]), 1)
        XCTAssertEqual(h.counter.value(["egress", "l7/http", "dropped"]), 1)
        XCTAssertEqual(h.counter.value(["ingress", "l7/http", "forwarded"]), 1)
        XCTAssertEqual(h.counter.value(["egress", "l7/dns", "forwarded"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 5)
    }
}
