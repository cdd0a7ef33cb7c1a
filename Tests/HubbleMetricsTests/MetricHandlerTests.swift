import Flows
import XCTest

@testable import HubbleMetrics

final class MetricHandlerTests: XCTestCase {
    func testFlowProtocolFollowsTheEventType() {
        XCTAssertEqual(flowProtocol(FlowFixtures.tcpTrace(.syn)), "TCP")
        XCTAssertEqual(flowProtocol(FlowFixtures.http()), "HTTP")
        XCTAssertEqual(flowProtocol(FlowFixtures.dns()), "DNS")
        var udp = FlowFixtures.tcpDrop()
        udp.l4 = .udp(Flow.UDP(sourcePort: 1, destinationPort: 2))
        XCTAssertEqual(flowProtocol(udp), "UDP")
        udp.l4 = nil
        XCTAssertEqual(flowProtocol(udp), "Unknown L4")
        var sock = FlowFixtures.tcpTrace(.syn)
        sock.eventType = Flow.EventType(type: Flow.EventType.traceSock)
        XCTAssertEqual(flowProtocol(sock), "Unknown flow")
        var bare = FlowFixtures.http()
        bare.l7?.record = nil
        XCTAssertEqual(flowProtocol(bare), "Unknown L7")
    }

    func testDropReasonNameAndForwarded() {
        XCTAssertEqual(dropReasonName(FlowFixtures.tcpDrop(reason: 133)), "POLICY_DENIED")
        XCTAssertEqual(dropReasonName(FlowFixtures.tcpDrop(reason: 181)), "POLICY_DENY")
        XCTAssertEqual(dropReasonName(FlowFixtures.tcpDrop(reason: 7)), "7")
        XCTAssertTrue(isForwarded(FlowFixtures.tcpTrace(.syn)))
        XCTAssertFalse(isForwarded(FlowFixtures.tcpDrop()))
    }
}
