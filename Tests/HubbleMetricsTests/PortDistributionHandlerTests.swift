import Flows
import XCTest

@testable import HubbleMetrics

final class PortDistributionHandlerTests: XCTestCase {
    func testForwardedRequestsByDestinationPort() throws {
        let h = try PortDistributionHandler(MetricsConfig.Metric(name: "port-distribution"))
        XCTAssertEqual(h.ports.name, "hubble_port_distribution_total")
        XCTAssertEqual(h.ports.labelNames, ["protocol", "port"])
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
        XCTAssertEqual(h.ports.value(["TCP", "80"]), 2)
        XCTAssertEqual(h.ports.value(["TCP", "443"]), 1)
        XCTAssertEqual(h.ports.value(["ICMPv4", "0"]), 1)
        XCTAssertEqual(h.ports.value(["UDP", "53"]), 1)
        XCTAssertEqual(h.ports.seriesCount, 4)
    }
}
