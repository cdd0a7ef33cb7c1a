import XCTest

@testable import HubbleMetrics

final class MetricsConfigTests: XCTestCase {
    func testHubbleSyntaxWithCommasInsideLabelsContext() throws {
        let c = try MetricsConfig.parse(
            "dns:query;ignoreAAAA,drop,tcp,flow,port-distribution,icmp,"
                + "httpV2:exemplars=true;labelsContext=source_ip,source_namespace,destination_namespace")
        XCTAssertEqual(c.metrics.map(\.name), ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"])
        XCTAssertEqual(c.metrics[0].options, [.init("query"), .init("ignoreAAAA")])
        XCTAssertEqual(
            c.metrics[6].options,
            [.init("exemplars", "true"), .init("labelsContext", "source_ip,source_namespace,destination_namespace")])
        XCTAssertEqual(c.metrics[6].option("LABELSCONTEXT"), "source_ip,source_namespace,destination_namespace")
        XCTAssertNil(c.metrics[1].option("query"))
    }

    func testSpaceSeparatedAsHelmWritesIt() throws {
        let c = try MetricsConfig.parse("flow:sourceContext=pod|dns;destinationContext=pod drop  policy")
        XCTAssertEqual(c.metrics.map(\.name), ["flow", "drop", "policy"])
        XCTAssertEqual(c.metrics[0].option("sourcecontext"), "pod|dns")
        XCTAssertEqual(try MetricsConfig.parse("").metrics, [])
    }

    func testRefusals() {
        func error(_ s: String) -> String {
            do {
                _ = try MetricsConfig.parse(s)
                return "accepted"
            } catch { return error.description }
        }
        XCTAssertEqual(error("flow,bogus"), "metric 'bogus' does not exist")
        XCTAssertEqual(error("bogus"), "metric 'bogus' does not exist")
        XCTAssertEqual(error("http,httpV2"), "plugin httpV2 conflicts with plugin http")
        XCTAssertEqual(error("drop,drop"), "metric 'drop' is enabled twice")
        XCTAssertEqual(error("kafka"), "metric 'kafka' is Hubble's but Sluice records no kafka flows")
    }
}
