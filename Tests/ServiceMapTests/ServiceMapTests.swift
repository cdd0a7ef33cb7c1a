import Flows
import XCTest

@testable import ServiceMap

final class ServiceMapTests: XCTestCase {
    static let client = FlowEndpoint(
        id: 1, identity: 1001, namespace: "default", labels: ["k8s:app=client"], podName: "client")
    static let server = FlowEndpoint(
        id: 2, identity: 1002, namespace: "prod", labels: ["k8s:app=server"], podName: "server")
    static let world = FlowEndpoint(identity: 2, labels: ["reserved:world"])
    static let ip = Flow.IP(source: "10.244.0.2", destination: "10.244.0.3", ipVersion: .ipv4)

    private func http(_ method: String, _ path: String, code: UInt32? = nil, verdict: Flow.Verdict = .forwarded) -> Flow
    {
        let response = code != nil
        return Flow(
            time: Flow.Timestamp(seconds: 100), verdict: verdict, ip: Self.ip,
            l4: .tcp(Flow.TCP(sourcePort: response ? 80 : 40000, destinationPort: response ? 40000 : 80)),
            source: response ? Self.server : Self.client, destination: response ? Self.client : Self.server, type: .l7,
            l7: Flow.Layer7(
                type: response ? .response : .request,
                record: .http(
                    Flow.HTTP(
                        code: code ?? 0, method: method, url: "http://server" + path + "?q=1", protocol: "HTTP/1.1"))),
            eventType: Flow.EventType(type: Flow.EventType.l7), trafficDirection: .egress, isReply: response)
    }

    private func drop(to destination: FlowEndpoint, port: UInt16) -> Flow {
        Flow(
            time: Flow.Timestamp(seconds: 101), verdict: .dropped, dropReason: 133, ip: Self.ip,
            l4: .tcp(Flow.TCP(sourcePort: 40001, destinationPort: port, flags: .syn)), source: Self.client,
            destination: destination, type: .l3L4, eventType: Flow.EventType(type: Flow.EventType.drop),
            trafficDirection: .egress)
    }

    func testEdgesAggregateRequestsResponsesAndVerdicts() throws {
        var map = ServiceMap()
        for _ in 0..<3 {
            map.add(http("GET", "/get"))
            map.add(http("GET", "/get", code: 200))
        }
        map.add(http("POST", "/post", verdict: .dropped))
        map.add(http("POST", "/post", code: 403))
        var dns = http("GET", "/", code: nil)
        dns.destination = Self.world
        dns.destinationNames = ["api.example.com"]
        dns.l7?.record = .dns(Flow.DNS(query: "api.example.com.", qtypes: ["A"]))
        map.add(dns)
        map.add(drop(to: Self.world, port: 443))
        map.add(drop(to: Self.world, port: 443))

        let snap = map.snapshot()
        XCTAssertEqual(snap.flows, 11)
        XCTAssertEqual(snap.namespaces, ["default", "prod"])
        XCTAssertEqual(snap.nodes.map(\.id), ["reserved:world", "default/client", "prod/server"])
        XCTAssertEqual(snap.nodes[0].dnsNames, ["api.example.com"])
        XCTAssertEqual(snap.edges.count, 2)
        let toServer = try XCTUnwrap(snap.edges.first { $0.destination == "prod/server" })
        XCTAssertEqual(toServer.source, "default/client")
        XCTAssertEqual(toServer.verdict, .l7Denied)
        XCTAssertEqual(toServer.forwarded, 3)
        XCTAssertEqual(toServer.l7Denied, 1)
        XCTAssertEqual(toServer.dropped, 0)
        XCTAssertEqual(toServer.requests, ["GET /get": 3, "POST /post": 1])
        XCTAssertEqual(toServer.responses, ["GET /get 200": 3, "POST /post 403": 1])
        XCTAssertEqual(toServer.protocols, ["HTTP/1.1"])
        XCTAssertEqual(toServer.ports, [80])
        XCTAssertEqual(toServer.lastSeen, 100)
        let toWorld = try XCTUnwrap(snap.edges.first { $0.destination == "reserved:world" })
        XCTAssertEqual(toWorld.verdict, .dropped)
        XCTAssertEqual(toWorld.dropped, 2)
        XCTAssertEqual(toWorld.forwarded, 1)
        XCTAssertEqual(toWorld.dropReasons, ["POLICY_DENIED"])
        XCTAssertEqual(toWorld.dnsNames, ["api.example.com."])
        XCTAssertEqual(toWorld.protocols, ["DNS", "TCP"])
        XCTAssertEqual(toWorld.ports, [80, 443])
    }

    func testNamespaceFilterKeepsEdgesTouchingIt() {
        var map = ServiceMap()
        map.add(http("GET", "/get"))
        map.add(drop(to: Self.world, port: 443))
        let prod = map.snapshot(namespace: "prod")
        XCTAssertEqual(prod.edges.map(\.destination), ["prod/server"])
        XCTAssertEqual(prod.nodes.map(\.id), ["default/client", "prod/server"])
        XCTAssertEqual(prod.namespaces, ["default", "prod"])
        XCTAssertEqual(map.snapshot(namespace: "nowhere").edges, [])
        XCTAssertEqual(map.snapshot(namespace: "default").edges.count, 2)
    }

    func testRequestKeysAreBounded() {
        var map = ServiceMap()
        for i in 0..<(ServiceMap.maxRequestKeys + 10) { map.add(http("GET", "/p\(i)")) }
        let edge = map.snapshot().edges[0]
        XCTAssertEqual(edge.requests.count, ServiceMap.maxRequestKeys)
        XCTAssertEqual(edge.forwarded, UInt64(ServiceMap.maxRequestKeys + 10))
    }

    func testNodesOfNonPods() {
        XCTAssertEqual(ServiceMap.node(Self.world, names: ["a."], ip: "1.2.3.4").id, "reserved:world")
        XCTAssertEqual(ServiceMap.node(FlowEndpoint(identity: 9), names: [], ip: "1.2.3.4").id, "1.2.3.4")
        XCTAssertEqual(ServiceMap.protocolName(drop(to: Self.world, port: 1)), "TCP")
    }
}
