import Flows
import XCTest

@testable import HubbleMetrics

final class FlowsToWorldHandlerTests: XCTestCase {
    func testDefaultCountsRequestsAndPolicyDropsToWorld() throws {
        let h = try FlowsToWorldHandler(MetricsConfig.Metric(name: "flows-to-world"))
        XCTAssertEqual(h.counter.name, "hubble_flows_to_world_total")
        XCTAssertEqual(h.counter.labelNames, ["protocol", "verdict"])
        h.process(FlowFixtures.tcpTrace(.syn, destination: FlowFixtures.world))
        h.process(FlowFixtures.tcpTrace(.ack, destination: FlowFixtures.world))
        h.process(FlowFixtures.tcpTrace(.ack, isReply: true, destination: FlowFixtures.world))  // reply
        h.process(FlowFixtures.tcpDrop(reason: 133, destination: FlowFixtures.world))
        h.process(FlowFixtures.tcpDrop(reason: 134, destination: FlowFixtures.world))  // not a policy drop
        h.process(FlowFixtures.tcpTrace(.syn))  // not to world
        XCTAssertEqual(h.counter.value(["TCP", "FORWARDED"]), 2)
        XCTAssertEqual(h.counter.value(["TCP", "DROPPED"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 2)
    }

    func testPortSynOnlyAnyDrop() throws {
        let h = try FlowsToWorldHandler(
            MetricsConfig.Metric(
                name: "flows-to-world", options: [.init("port"), .init("syn-only"), .init("any-drop")]))
        XCTAssertEqual(h.counter.labelNames, ["protocol", "verdict", "port"])
        h.process(FlowFixtures.tcpTrace(.syn, destination: FlowFixtures.world, port: 443))
        h.process(FlowFixtures.tcpTrace(.ack, destination: FlowFixtures.world, port: 443))  // not SYN
        h.process(FlowFixtures.tcpDrop(reason: 134, destination: FlowFixtures.world))
        XCTAssertEqual(h.counter.value(["TCP", "FORWARDED", "443"]), 1)
        XCTAssertEqual(h.counter.value(["TCP", "DROPPED", "8080"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 2)
    }
}
