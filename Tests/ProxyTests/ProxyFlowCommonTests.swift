import CSluiceShared
import Flows
import XCTest

@testable import Proxy

/// The common fields of the proxy's flow records, from the connection and its steering entry,
/// and the L3/L4 policy drop it writes.
final class ProxyFlowCommonTests: XCTestCase {
    private let steer = SteerInfo(
        sourceEndpoint: 7, destinationEndpoint: 3, sourceIdentity: 300, destinationIdentity: 257, sides: [.ingress])

    func testProxiedTakesAddressesFromTheConnectionAndIdentitiesFromTheSteering() {
        let common = FlowCommon.proxied(
            clientAddress: 0x0A00_0001, clientPort: 40000, serverAddress: 0x0A00_0002, serverPort: 80, l4Proto: 6,
            direction: .ingress, steer: steer, verdict: .dropped, timeNs: 99)
        XCTAssertEqual([common.srcIP, common.dstIP], [0x0A00_0001, 0x0A00_0002])
        XCTAssertEqual([common.srcPort, common.dstPort], [40000, 80])
        XCTAssertEqual(
            [common.srcIdentity, common.dstIdentity, common.srcEndpoint, common.dstEndpoint], [300, 257, 7, 3])
        XCTAssertEqual(common.l4Proto, 6)
        XCTAssertEqual(common.verdict, .dropped)
        XCTAssertEqual(common.direction, .ingress)
        XCTAssertEqual(common.isReply, false)
        XCTAssertEqual(common.timeNs, 99)
        let unsteered = FlowCommon.proxied(
            clientAddress: 1, clientPort: 2, serverAddress: 3, serverPort: 4, l4Proto: 17, direction: .egress,
            steer: nil)
        XCTAssertEqual(
            [unsteered.srcIdentity, unsteered.dstIdentity, unsteered.srcEndpoint, unsteered.dstEndpoint], [0, 0, 0, 0])
        XCTAssertEqual(unsteered.verdict, .forwarded)
    }

    func testFirstDirection() {
        XCTAssertEqual(FlowCommon.firstDirection(nil), .unknown)
        XCTAssertEqual(FlowCommon.firstDirection(steer), .ingress)
        var both = steer
        both.sides = [.egress, .ingress]
        XCTAssertEqual(FlowCommon.firstDirection(both), .egress, "egress rules decide first")
    }

    func testPolicyDropIsAnL3L4DropWithPolicyDenied() {
        let sink = CollectingSink()
        let common = FlowCommon.proxied(
            clientAddress: 0x0100_000A, clientPort: 40000, serverAddress: 0x0200_000A, serverPort: 53, l4Proto: 17,
            direction: .egress, steer: steer, verdict: .dropped)
        sink.appendPolicyDrop(common)
        let flows = sink.flows
        XCTAssertEqual(flows.count, 1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(flows.first?.dropReason, DropReason.policyDenied.rawValue)
        XCTAssertNil(flows.first?.l7)
    }
}
