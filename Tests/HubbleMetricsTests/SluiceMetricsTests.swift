import Flows
import XCTest

@testable import HubbleMetrics

final class SluiceMetricsTests: XCTestCase {
    func testConnectionsRequestsAndLatencyFromFlows() {
        let s = SluiceMetrics()
        s.process(FlowFixtures.tcpTrace(.syn, reason: .new))
        s.process(FlowFixtures.tcpTrace(.ack, reason: .established))  // not an opening
        s.process(FlowFixtures.tcpDrop())
        var replyDrop = FlowFixtures.tcpDrop()
        replyDrop.isReply = true
        s.process(replyDrop)
        s.process(FlowFixtures.http(verdict: .dropped))
        s.process(FlowFixtures.http(protocol: "HTTP/2"))
        s.process(FlowFixtures.http(code: 200, latencyNs: 40_000_000, protocol: "HTTP/2"))
        s.process(FlowFixtures.dns())
        XCTAssertEqual(s.connections.value(["forwarded", "egress"]), 1)
        XCTAssertEqual(s.connections.value(["dropped", "egress"]), 1)
        XCTAssertEqual(s.requests.value(["dropped", "egress", "HTTP/1.1"]), 1)
        XCTAssertEqual(s.requests.value(["forwarded", "egress", "HTTP/2"]), 1)
        XCTAssertEqual(s.requests.value(["forwarded", "egress", "DNS"]), 1)
        XCTAssertEqual(s.upstreamLatency.series[["HTTP/2"]]?.count, 1)
        XCTAssertEqual(s.upstreamLatency.series[["HTTP/2"]]?.bucketCounts[3], 1)  // <= 50 ms
    }

    func testAgentNumbers() {
        let s = SluiceMetrics()
        s.setLostEvents(17)
        s.setAgentResidentMemory(9_437_184)
        XCTAssertEqual(s.lostEvents.value([]), 17)
        XCTAssertEqual(s.agentResidentMemory.value([]), 9_437_184)
        let line = "last install: compile 12.3 ms, maps 45.6 ms (10 policy entries, 3 ipcache entries)"
        s.noteLastApply(nil)
        s.noteLastApply(line)
        s.noteLastApply(line)  // the same install seen again
        XCTAssertEqual(s.policyApplies.value(["success"]), 1)
        XCTAssertEqual(s.policyApplyDuration.value(["compile"])!, 0.0123, accuracy: 1e-12)
        XCTAssertEqual(s.policyApplyDuration.value(["maps"])!, 0.0456, accuracy: 1e-12)
        s.noteLastApply("something else")
        XCTAssertEqual(s.policyApplies.value(["unreadable"]), 1)
        XCTAssertEqual(SluiceMetrics.milliseconds(after: "maps ", in: line), 45.6)
        s.setPolicyApplyFailures(3)
        XCTAssertEqual(s.policyApplies.value(["error"]), 3)
        XCTAssertTrue(Exposition.render(s.families).contains("sluice_policy_applies_total{result=\"error\"} 3\n"))
    }

    func testTheAgentsDNSAnswerToDatapathHistogramIsExportedAsItIs() {
        let s = SluiceMetrics()
        XCTAssertNil(s.dnsAnswerToDatapath, "no family before the agent's first reading")
        s.setDNSAnswerToDatapath(bounds: [0.001, 0.01], counts: [2, 1, 1], sum: 0.5, count: 4)
        let text = Exposition.render(s.families)
        for line in [
            "# TYPE sluice_dns_answer_to_datapath_seconds histogram",
            "sluice_dns_answer_to_datapath_seconds_bucket{le=\"0.001\"} 2",
            "sluice_dns_answer_to_datapath_seconds_bucket{le=\"0.01\"} 3",
            "sluice_dns_answer_to_datapath_seconds_bucket{le=\"+Inf\"} 4",
            "sluice_dns_answer_to_datapath_seconds_sum 0.5",
            "sluice_dns_answer_to_datapath_seconds_count 4",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
        // a reading with a count per bound is ignored rather than misread
        s.setDNSAnswerToDatapath(bounds: [0.001, 0.01], counts: [9, 9], sum: 9, count: 9)
        XCTAssertEqual(s.dnsAnswerToDatapath?.series[[]]?.count, 4)
    }
}
