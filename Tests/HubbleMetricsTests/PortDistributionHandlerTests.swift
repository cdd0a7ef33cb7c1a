import Flows
import XCTest

@testable import HubbleMetrics

final class PortDistributionHandlerTests: XCTestCase {
    func testForwardedRequestsByDestinationPort() throws {
        let h = try PortDistributionHandler(MetricsConfig.Metric(name: "port-distribution"))
        XCTAssertEqual(h.counter.name, "hubble_port_distribution_total")
        XCTAssertEqual(h.counter.labelNames, ["protocol", "port"])
        h.process(FlowFixtures.tcpTrace(.syn, port: 80))
        h.process(FlowFixtures.tcpTrace(.syn, port: 80))
        h.process(FlowFixtures.tcpTrace(.syn, port: 443))
        h.process(FlowFixtures.tcpTrace([.syn, .ack], isReply: true))  // reply: skipped
        h.process(FlowFixtures.tcpTrace(.syn, isReply: nil))  // unknown: skipped
        h.process(FlowFixtures.tcpDrop())  // dropped: skipped
        var icmp = FlowFixtures.tcpTrace(.syn)
        icmp.l4 = .icmpv4(Flow.ICMP(type: 8))
        h.process(icmp)
        h.process(FlowFixtures.dns())
        XCTAssertEqual(h.counter.value(["TCP", "80"]), 2)
        XCTAssertEqual(h.counter.value(["TCP", "443"]), 1)
        XCTAssertEqual(h.counter.value(["ICMPv4", "0"]), 1)
        XCTAssertEqual(h.counter.value(["UDP", "53"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 4)
    }
}
