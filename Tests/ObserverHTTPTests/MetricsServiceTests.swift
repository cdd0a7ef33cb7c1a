import Flows
import Glibc
import HubbleObserver
import SluiceIO
import XCTest

@testable import ObserverHTTP

final class MetricsServiceTests: XCTestCase {
    static func flow(_ i: Int64, code: UInt32? = nil) -> Flow {
        let client = FlowEndpoint(id: 1, identity: 1001, namespace: "default", podName: "client")
        let server = FlowEndpoint(id: 2, identity: 1002, namespace: "prod", podName: "server")
        return Flow(
            time: Flow.Timestamp(seconds: i), verdict: .forwarded,
            ip: Flow.IP(source: "10.0.0.1", destination: "10.0.0.2", ipVersion: .ipv4),
            l4: .tcp(Flow.TCP(sourcePort: 1, destinationPort: 80)), source: code == nil ? client : server,
            destination: code == nil ? server : client, type: .l7,
            l7: Flow.Layer7(
                type: code == nil ? .request : .response, latencyNs: 2_000_000,
                record: .http(Flow.HTTP(code: code ?? 0, method: "GET", url: "http://s/get", protocol: "HTTP/1.1"))),
            eventType: Flow.EventType(type: Flow.EventType.l7), trafficDirection: .egress, isReply: code != nil)
    }

    func testScrapeCountsHistoryAndNewFlowsExactly() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        options.metricsAddress = ListenAddress(host: .init(hostOrder: 0x7f00_0001), port: 0)
        options.metrics = "httpV2:labelsContext=source_namespace,destination_namespace"
        let observer = try Observer(options: options)
        observer.ingest(Self.flow(1))
        observer.ingest(Self.flow(1, code: 200))  // in the history before the service starts
        let service = MetricsService(agent: AgentReadings(controlSocket: "/nonexistent.sock", procRoot: "/nonexistent"))
        try service.start(observer: observer)
        for i in 2...10 {
            observer.ingest(Self.flow(Int64(i)))
            observer.ingest(Self.flow(Int64(i), code: 200))
        }
        observer.ingestLost(3)
        let text = String(decoding: service.answer(HTTPRequest(method: "GET", path: "/metrics")).body, as: UTF8.self)
        XCTAssertTrue(
            text.contains(
                #"hubble_http_requests_total{destination_namespace="prod",method="GET",protocol="HTTP/1.1",reporter="client",source_namespace="default",status="200"} 10"#
            ), text)
        XCTAssertTrue(text.contains("sluice_flow_ring_lost_events_total 3\n"), text)
        XCTAssertEqual(service.answer(HTTPRequest(method: "GET", path: "/other")).status, 404)
    }

    func testBadMetricsOptionFailsTheStart() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        options.metricsAddress = ListenAddress(host: .init(hostOrder: 0x7f00_0001), port: 0)
        options.metrics = "flow,nonsense"
        let observer = try Observer(options: options)
        XCTAssertThrowsError(try MetricsService().start(observer: observer))
    }
}
