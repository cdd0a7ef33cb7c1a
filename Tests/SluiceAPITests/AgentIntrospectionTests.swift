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
