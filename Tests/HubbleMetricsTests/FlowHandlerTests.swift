import Flows
import XCTest

@testable import HubbleMetrics

final class FlowHandlerTests: XCTestCase {
    func testLabelsAndValues() throws {
        let h = try FlowHandler(MetricsConfig.Metric(name: "flow", options: [.init("destinationContext", "namespace")]))
        XCTAssertEqual(h.counter.name, "hubble_flows_processed_total")
        XCTAssertEqual(h.counter.labelNames, ["protocol", "type", "subtype", "verdict", "destination"])
        h.process(FlowFixtures.tcpTrace(.syn, point: 0))
        h.process(FlowFixtures.tcpTrace(.ack, point: 0))
        h.process(FlowFixtures.tcpTrace(.syn, point: 3))
        h.process(FlowFixtures.tcpDrop())
        h.process(FlowFixtures.http())
        h.process(FlowFixtures.dns())
        XCTAssertEqual(h.counter.value(["TCP", "Trace", "to-endpoint", "FORWARDED", "prod"]), 2)
        XCTAssertEqual(h.counter.value(["TCP", "Trace", "to-stack", "FORWARDED", "prod"]), 1)
        XCTAssertEqual(h.counter.value(["TCP", "Drop", "", "DROPPED", "prod"]), 1)
        XCTAssertEqual(h.counter.value(["HTTP", "L7", "HTTP", "FORWARDED", "prod"]), 1)
        XCTAssertEqual(h.counter.value(["DNS", "L7", "DNS", "FORWARDED", ""]), 1)
        XCTAssertEqual(h.counter.seriesCount, 5)
    }

    func testTypeNamesOfOtherEvents() {
        var f = FlowFixtures.tcpTrace(.syn)
        f.eventType = Flow.EventType(type: Flow.EventType.policyVerdict)
        XCTAssertEqual(FlowHandler.typeAndSubtype(f).0, "PolicyVerdict")
        f.eventType = Flow.EventType(type: 42)
        XCTAssertEqual(FlowHandler.typeAndSubtype(f).0, "Unknown")
        XCTAssertEqual(FlowHandler.typeAndSubtype(f).1, "42")
        XCTAssertEqual(FlowHandler.traceObservationPointName(1), "to-proxy")
        XCTAssertEqual(FlowHandler.traceObservationPointName(11), "to-network")
        XCTAssertEqual(FlowHandler.traceObservationPointName(99), "")
    }
}
