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
    }
}
