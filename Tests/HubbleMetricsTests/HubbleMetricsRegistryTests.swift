import Flows
import XCTest

@testable import HubbleMetrics

final class HubbleMetricsRegistryTests: XCTestCase {
    func testSandboxSetRendersHubbleAndSluiceFamilies() throws {
        let r = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        XCTAssertEqual(r.handlers.map(\.name), ["dns", "drop", "tcp", "flow", "policy", "httpV2"])
        let n = 25
        for _ in 0..<n {
            r.process(FlowFixtures.http())
            r.process(FlowFixtures.http(code: 200, latencyNs: 1_000_000))
        }
        r.process(FlowFixtures.tcpDrop())
        let text = r.render()
        XCTAssertTrue(
            text.contains(
                #"hubble_http_requests_total{method="GET",protocol="HTTP/1.1",reporter="client",status="200"} 25"#),
            text)
        XCTAssertTrue(text.contains(#"hubble_drop_total{protocol="TCP",reason="POLICY_DENIED"} 1"#), text)
        XCTAssertTrue(
            text.contains(#"sluice_requests_total{direction="egress",protocol="HTTP/1.1",verdict="forwarded"} 25"#))
        XCTAssertTrue(text.contains("# TYPE hubble_http_request_duration_seconds histogram\n"))
        XCTAssertNotNil(r.family("hubble_dns_queries_total"))
        XCTAssertNil(r.family("hubble_icmp_total"))
        // Families in name order, each with HELP before TYPE.
        let names = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        XCTAssertEqual(names, names.sorted())
    }

    func testBadHandlerOptionIsRefused() {
        XCTAssertThrowsError(try HubbleMetricsRegistry(options: "flow:sourceContext=nowhere")) {
            XCTAssertEqual(($0 as? MetricsConfig.ConfigError)?.description, "unknown context 'nowhere'")
        }
    }
}
