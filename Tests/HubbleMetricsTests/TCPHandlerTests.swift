import Flows
import XCTest

@testable import HubbleMetrics

final class TCPHandlerTests: XCTestCase {
    func testFlagsOfForwardedPackets() throws {
        let h = try TCPHandler(MetricsConfig.Metric(name: "tcp"))
        XCTAssertEqual(h.counter.name, "hubble_tcp_flags_total")
        XCTAssertEqual(h.counter.labelNames, ["flag", "family"])
        h.process(FlowFixtures.tcpTrace(.syn))
        h.process(FlowFixtures.tcpTrace([.syn, .ack], isReply: true))
        h.process(FlowFixtures.tcpTrace([.fin, .ack]))
        h.process(FlowFixtures.tcpTrace([.rst, .fin]))
        h.process(FlowFixtures.tcpTrace(.ack))
        h.process(FlowFixtures.tcpDrop())  // dropped: not counted
        h.process(FlowFixtures.http())  // L7: no flags field
        XCTAssertEqual(h.counter.value(["SYN", "IPv4"]), 1)
        XCTAssertEqual(h.counter.value(["SYN-ACK", "IPv4"]), 1)
        XCTAssertEqual(h.counter.value(["FIN", "IPv4"]), 2)
        XCTAssertEqual(h.counter.value(["RST", "IPv4"]), 1)
        XCTAssertEqual(h.counter.seriesCount, 4)
    }
}
