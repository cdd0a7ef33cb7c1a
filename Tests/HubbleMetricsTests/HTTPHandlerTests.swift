import Flows
import XCTest

@testable import HubbleMetrics

final class HTTPHandlerTests: XCTestCase {
    func testV2CountsResponsesWithTheRequestsContext() throws {
        let h = try HTTPHandler(
            MetricsConfig.Metric(
                name: "httpV2",
                options: [.init("exemplars", "true"), .init("labelsContext", "source_namespace,destination_namespace")])
        )
        XCTAssertTrue(h.exemplars)
        XCTAssertNil(h.responses)
        XCTAssertEqual(h.requests.name, "hubble_http_requests_total")
        XCTAssertEqual(
            h.requests.labelNames,
            ["source_namespace", "destination_namespace", "method", "protocol", "status", "reporter"])
        XCTAssertEqual(h.duration.name, "hubble_http_request_duration_seconds")
        XCTAssertEqual(h.duration.labelNames, ["source_namespace", "destination_namespace", "method", "reporter"])
        for _ in 0..<7 { h.process(FlowFixtures.http()) }  // requests: not counted by v2
        for _ in 0..<5 { h.process(FlowFixtures.http(code: 200, latencyNs: 3_000_000)) }
        h.process(FlowFixtures.http("POST", code: 403, latencyNs: 20_000_000, direction: .ingress))
        // The response goes server -> client; inverted, the labels name the request's sides.
        XCTAssertEqual(h.requests.value(["default", "prod", "GET", "HTTP/1.1", "200", "client"]), 5)
        XCTAssertEqual(h.requests.value(["default", "prod", "POST", "HTTP/1.1", "403", "server"]), 1)
        XCTAssertEqual(h.requests.seriesCount, 2)
        let get = try XCTUnwrap(h.duration.series[["default", "prod", "GET", "client"]])
        XCTAssertEqual(get.count, 5)
        XCTAssertEqual(get.bucketCounts[0], 5)  // 3 ms <= 5 ms
        XCTAssertEqual(get.sum, 0.015, accuracy: 1e-12)
        XCTAssertEqual(h.duration.series[["default", "prod", "POST", "server"]]?.bucketCounts[2], 1)  // <= 25 ms
    }

    func testV1CountsRequestsAndResponsesSeparately() throws {
        let h = try HTTPHandler(MetricsConfig.Metric(name: "http"))
        let responses = try XCTUnwrap(h.responses)
        XCTAssertEqual(h.requests.labelNames, ["method", "protocol", "reporter"])
        XCTAssertEqual(responses.name, "hubble_http_responses_total")
        XCTAssertEqual(responses.labelNames, ["method", "protocol", "status", "reporter"])
        for _ in 0..<3 { h.process(FlowFixtures.http(protocol: "HTTP/2")) }
        h.process(FlowFixtures.http(code: 404, protocol: "HTTP/2"))
        h.process(FlowFixtures.dns())
        XCTAssertEqual(h.requests.value(["GET", "HTTP/2", "client"]), 3)
        XCTAssertEqual(responses.value(["GET", "HTTP/2", "404", "client"]), 1)
        XCTAssertEqual(h.duration.series[["GET", "client"]]?.count, 1)
    }
}
