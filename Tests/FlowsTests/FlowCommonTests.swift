import XCTest

@testable import Flows

/// The common part of a record and its mirror image for L7 responses.
final class FlowCommonTests: XCTestCase {
    func testSwappedExchangesBothSidesOnly() {
        let request = FlowCommon(
            timeNs: 7, verdict: .forwarded, direction: .egress, isReply: false, srcIP: 0x0100_000A,
            dstIP: 0x0200_000A, srcPort: 40000, dstPort: 80, l4Proto: FlowCommon.tcp, srcIdentity: 256,
            dstIdentity: 257, srcEndpoint: 11, dstEndpoint: 12, flowType: .l7, eventType: Flow.EventType.l7,
            tcpFlags: .ack)
        let response = request.swapped()
        XCTAssertEqual(
            response,
            FlowCommon(
                timeNs: 7, verdict: .forwarded, direction: .egress, isReply: false, srcIP: 0x0200_000A,
                dstIP: 0x0100_000A, srcPort: 80, dstPort: 40000, l4Proto: FlowCommon.tcp, srcIdentity: 257,
                dstIdentity: 256, srcEndpoint: 12, dstEndpoint: 11, flowType: .l7, eventType: Flow.EventType.l7,
                tcpFlags: .ack))
        XCTAssertEqual(response.swapped(), request)
    }

    func testProtocolNumbers() {
        XCTAssertEqual(
            [FlowCommon.icmp, FlowCommon.tcp, FlowCommon.udp, FlowCommon.icmpv6, FlowCommon.sctp], [1, 6, 17, 58, 132])
        let defaults = FlowCommon(
            timeNs: 0, verdict: .dropped, direction: .ingress, srcIP: 0, dstIP: 0, srcPort: 0, dstPort: 0, l4Proto: 0)
        XCTAssertNil(defaults.isReply)
        XCTAssertEqual(defaults.flowType, .unknown)
        XCTAssertEqual(defaults.dropReason.rawValue, 0)
    }
}
