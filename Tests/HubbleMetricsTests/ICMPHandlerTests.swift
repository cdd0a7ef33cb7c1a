import Flows
import XCTest

@testable import HubbleMetrics

final class ICMPHandlerTests: XCTestCase {
    func testTypesAsGopacketNamesThem() throws {
        let h = try ICMPHandler(MetricsConfig.Metric(name: "icmp"))
        XCTAssertEqual(h.counter.name, "hubble_icmp_total")
        XCTAssertEqual(h.counter.labelNames, ["family", "type"])
        var f = FlowFixtures.tcpTrace(.syn)
        f.l4 = .icmpv4(Flow.ICMP(type: 8))
        h.process(f)
        h.process(f)
        f.l4 = .icmpv4(Flow.ICMP(type: 3, code: 3))
        h.process(f)
        f.l4 = .icmpv6(Flow.ICMP(type: 128))
        h.process(f)
        h.process(FlowFixtures.tcpTrace(.syn))
        // Hubble's handler labels ICMPv6 with family IPv4 too: the v6 echo joins the two v4 ones.
        XCTAssertEqual(h.counter.value(["IPv4", "EchoRequest"]), 3)
        XCTAssertEqual(h.counter.value(["IPv6", "EchoRequest"]), 0)
        XCTAssertEqual(h.counter.value(["IPv4", "DestinationUnreachable(Port)"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 2)
    }
}
