import Flows
import Foundation
import SluiceAPI
import SluiceJSON
import XCTest

/// The `.introspect` answer on the wire: the whole value reads back equal, and an endpoint is one
/// flat JSON object (the directory entry's keys beside the agent's) that still reads as its entry.
final class AgentIntrospectionTests: XCTestCase {
    private let info = IntrospectionTextTests.info

    func testIntrospectionJSONRoundTrip() throws {
        let bytes = try JSON.encode(info)
        XCTAssertEqual(try JSON.decode(AgentIntrospection.self, from: bytes), info)
    }

    func testApplyFailuresAndTheDNSDelayHistogramRoundTripAndAreOptional() throws {
        var status = info
        var delay = AgentIntrospection.LatencyHistogram(boundsSeconds: [0.001, 0.01])
        delay.observe(ns: 1_000_000)  // on the bound: its bucket
        delay.observe(ns: 1_000_001)
        delay.observe(ns: 2_000_000_000)  // above every bound: +Inf
        XCTAssertEqual(delay.counts, [1, 1, 1])
        XCTAssertEqual(delay.count, 3)
        XCTAssertEqual(delay.sumSeconds, 2.002000001, accuracy: 1e-12)
        status.dnsAnswerToDatapath = delay
        status.policyApplyFailures = 2
        XCTAssertEqual(try JSON.decode(AgentIntrospection.self, from: JSON.encode(status)), status)
        // an older agent's answer has neither
        XCTAssertNil(try JSON.decode(AgentIntrospection.self, from: JSON.encode(info)).policyApplyFailures)
        XCTAssertEqual(AgentIntrospection.LatencyHistogram.dnsBounds.first, 0.00005)
    }

    func testAnEndpointIsOneFlatJSONObject() throws {
        // `sluice endpoint list -o json` prints these objects: the entry's keys and the agent's, side by side.
        let bytes = try JSON.encode(info.endpoints[0], sortedKeys: true)
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        XCTAssertEqual(
            Set(object?.keys.map { $0 } ?? []),
            [
                "id", "namespace", "pod", "ipv4", "identity", "labels", "ingressEnforcement", "egressEnforcement",
                "attached",
            ])
        XCTAssertEqual(object?["pod"] as? String, "client")
        XCTAssertEqual(object?["attached"] as? Bool, true)
        XCTAssertEqual(try JSON.decode(AgentIntrospection.Endpoint.self, from: bytes), info.endpoints[0])
    }

    func testAnEndpointReadsAsItsEntryAndNeedsTheAgentsKeys() throws {
        let endpoint = info.endpoints[1]
        XCTAssertEqual(endpoint.pod, "backend")
        XCTAssertEqual(endpoint.identity, 30002)
        XCTAssertEqual(endpoint.labels, ["k8s:app=backend"])
        let entryOnly = try JSON.encode(endpoint.endpoint)
        XCTAssertThrowsError(try JSON.decode(AgentIntrospection.Endpoint.self, from: entryOnly))
    }
}
