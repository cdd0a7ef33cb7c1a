import Flows
import XCTest

@testable import HubbleMetrics

final class DNSHandlerTests: XCTestCase {
    func testQueriesResponsesAndTypesWithQueryAndIgnoreAAAA() throws {
        let h = try DNSHandler(MetricsConfig.Metric(name: "dns", options: [.init("query"), .init("ignoreAAAA")]))
        XCTAssertEqual(h.queries.name, "hubble_dns_queries_total")
        XCTAssertEqual(h.queries.labelNames, ["rcode", "qtypes", "ips_returned", "query"])
        XCTAssertEqual(h.responses.name, "hubble_dns_responses_total")
        XCTAssertEqual(h.responses.labelNames, ["rcode", "qtypes", "ips_returned", "query"])
        XCTAssertEqual(h.responseTypes.name, "hubble_dns_response_types_total")
        XCTAssertEqual(h.responseTypes.labelNames, ["type", "qtypes", "query"])
        h.process(FlowFixtures.dns())
        h.process(FlowFixtures.dns())
        h.process(FlowFixtures.dns(qtypes: ["AAAA"]))  // ignored
        h.process(FlowFixtures.dns("bad.example.", verdict: .dropped))
        h.process(FlowFixtures.dns(rcode: 0, ips: ["1.2.3.4", "5.6.7.8"], rrtypes: ["CNAME", "A", "A"]))
        h.process(FlowFixtures.dns("nx.example.", rcode: 3))
        XCTAssertEqual(h.queries.value(["", "A", "0", "example.com."]), 2)
        XCTAssertEqual(h.queries.value(["Policy denied", "A", "0", "bad.example."]), 1)
        XCTAssertEqual(h.responses.value(["No Error", "A", "2", "example.com."]), 1)
        XCTAssertEqual(h.responses.value(["Non-Existent Domain", "A", "0", "nx.example."]), 1)
        XCTAssertEqual(h.responseTypes.value(["A", "A", "example.com."]), 2)
        XCTAssertEqual(h.responseTypes.value(["CNAME", "A", "example.com."]), 1)
        XCTAssertEqual(h.queries.seriesCount, 2)
    }

    func testWithoutOptionsAndRcodeTexts() throws {
        let h = try DNSHandler(MetricsConfig.Metric(name: "dns"))
        XCTAssertEqual(h.queries.labelNames, ["rcode", "qtypes", "ips_returned"])
        XCTAssertEqual(h.responseTypes.labelNames, ["type", "qtypes"])
        h.process(FlowFixtures.dns(qtypes: ["AAAA"]))
        XCTAssertEqual(h.queries.value(["", "AAAA", "0"]), 1)
        XCTAssertEqual(DNSHandler.rcodeText(2), "Server Failure")
        XCTAssertEqual(DNSHandler.rcodeText(23), "Bad/missing Server Cookie")
        XCTAssertEqual(DNSHandler.rcodeText(12), "")
    }
}
