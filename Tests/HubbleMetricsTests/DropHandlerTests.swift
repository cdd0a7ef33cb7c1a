import Flows
import XCTest

@testable import HubbleMetrics

final class DropHandlerTests: XCTestCase {
    func testContextLabelsComeFirstAndOnlyDropsCount() throws {
        let h = try DropHandler(MetricsConfig.Metric(name: "drop", options: [.init("sourceContext", "pod")]))
        XCTAssertEqual(h.counter.name, "hubble_drop_total")
        XCTAssertEqual(h.counter.labelNames, ["source", "reason", "protocol"])
        h.process(FlowFixtures.tcpDrop(reason: 133))
        h.process(FlowFixtures.tcpDrop(reason: 133))
        h.process(FlowFixtures.tcpDrop(reason: 181))
        h.process(FlowFixtures.tcpTrace(.syn))
        h.process(FlowFixtures.dns(verdict: .dropped))
        XCTAssertEqual(h.counter.value(["default/client-7d9f8b-xk2lp", "POLICY_DENIED", "TCP"]), 2)
        XCTAssertEqual(h.counter.value(["default/client-7d9f8b-xk2lp", "POLICY_DENY", "TCP"]), 1)
        XCTAssertEqual(h.counter.value(["default/client-7d9f8b-xk2lp", "DROP_REASON_UNKNOWN", "DNS"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 3)
    }
}
