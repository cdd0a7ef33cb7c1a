import Flows
import XCTest

@testable import HubbleProto

final class ObserverMessagesTests: XCTestCase {
    func testGetFlowsRequestRoundTrip() throws {
        var r = GetFlowsRequest()
        r.number = 20
        r.follow = true
        r.since = Flow.Timestamp(seconds: 10)
        r.until = Flow.Timestamp(seconds: 20, nanos: 1)
        var c = FlowFilter.Criteria()
        c.destinationPod = ["backend/"]
        r.whitelist = [c]
        r.blacklist = [c, c]
        XCTAssertEqual(try GetFlowsRequest(bytes: r.bytes[...]), r)
        var first = GetFlowsRequest()
        first.first = true
        XCTAssertEqual(first.bytes, [0x48, 0x01], "first is field 9")
    }

    func testResponsesCarryNodeNameAndTime() throws {
        let flow = Flow(time: Flow.Timestamp(seconds: 5), verdict: .forwarded, nodeName: "n")
        guard case .flow(let back) = try GetFlowsResponse.decode(GetFlowsResponse.flow(flow)[...]) else {
            return XCTFail("flow")
        }
        XCTAssertEqual(back, flow)
        let lost = LostEvent(source: .hubbleRingBuffer, count: 4, nodeName: "n", time: Flow.Timestamp(seconds: 6))
        guard case .lost(let l) = try GetFlowsResponse.decode(GetFlowsResponse.lost(lost)[...]) else {
            return XCTFail("lost")
        }
        XCTAssertEqual(l, lost)
        var r = ProtoReader(GetFlowsResponse.flow(flow))
        var fields: [Int] = []
        while let (n, _) = try r.next() { fields.append(n) }
        XCTAssertEqual(fields, [1, 1000, 1001])
    }

    func testStatusNamespacesPeerAndHealth() throws {
        let status = ServerStatus(numFlows: 1, maxFlows: 4095, seenFlows: 9, uptimeNs: 2, version: "v", flowsRate: 0)
        XCTAssertEqual(status.bytes, [0x08, 1, 0x10, 0xFF, 0x1F, 0x18, 9, 0x20, 2, 0x42, 1, 0x76])
        XCTAssertEqual(
            GetNamespacesResponse.bytes(cluster: "c", namespaces: ["a"]),
            [0x0A, 0x06, 0x0A, 0x01, 0x63, 0x12, 0x01, 0x61])
        XCTAssertEqual(
            ChangeNotification.peerAdded(name: "n", address: "1.2.3.4"),
            [0x0A, 1, 0x6E, 0x12, 7] + Array("1.2.3.4".utf8) + [0x18, 1])
        XCTAssertEqual(
            ChangeNotification.peerAdded(name: "n", address: "1.2.3.4", tlsServerName: "s"),
            [0x0A, 1, 0x6E, 0x12, 7] + Array("1.2.3.4".utf8) + [0x18, 1, 0x22, 3, 0x0A, 1, 0x73])
        XCTAssertEqual(
            ChangeNotification.tlsServerName(nodeName: "kind-worker.local", clusterName: "default"),
            "kind-worker-local.default.hubble-grpc.cilium.io")
        XCTAssertEqual(
            ChangeNotification.tlsServerName(nodeName: "n", clusterName: ""), "n.default.hubble-grpc.cilium.io")
        XCTAssertEqual(try HealthCheck.service([0x0A, 1, 0x78][...]), "x")
        XCTAssertEqual(HealthCheck.response(status: 1), [0x08, 1])
    }
}
