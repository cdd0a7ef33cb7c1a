import XCTest

@testable import Policy

/// The snapshot the proxy holds while the maps change: the new rules, plus the old rules of
/// ports that lose theirs (they are still steered until the L3/L4 change is written).
final class PolicySnapshotTransitionTests: XCTestCase {
    static func http(_ port: String, _ rule: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web, namespace: backend}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          ingress:
          - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
            toPorts:
            - ports: [{port: "\(port)", protocol: TCP}]
              rules: {http: [\(rule)]}
        """
    }

    func testPortsLosingTheirRulesKeepTheOldRulesAndTheOthersTakeTheNew() throws {
        let old = try Fixtures.compile([Self.http("80", "{method: GET}")])
        let new = try Fixtures.compile([Self.http("8080", "{method: POST}")])
        let mid = new.transition(from: old)
        let frontend = old.endpointIdentity(1)
        let get = TestRequest("GET", "/"), post = TestRequest("POST", "/")
        let port80 = try XCTUnwrap(mid.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        XCTAssertTrue(port80.decide(peerIdentity: frontend, request: get).allowed)
        XCTAssertFalse(port80.decide(peerIdentity: frontend, request: post).allowed)
        let port8080 = try XCTUnwrap(mid.httpPolicy(endpointID: 2, direction: .ingress, port: 8080))
        XCTAssertTrue(port8080.decide(peerIdentity: frontend, request: post).allowed)
        XCTAssertNil(new.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        // everything else is the new snapshot's
        XCTAssertEqual(mid.l7Ports, new.l7Ports)
        XCTAssertEqual(mid.canonicalL3L4Dump(), new.canonicalL3L4Dump())
    }

    func testAPortKeepingItsRulesTakesTheNewOnes() throws {
        let old = try Fixtures.compile([Self.http("80", "{method: GET}")])
        let new = try Fixtures.compile([Self.http("80", "{method: POST}")])
        let mid = new.transition(from: old)
        XCTAssertTrue(mid === new, "nothing to keep: the new snapshot itself")
        let port80 = try XCTUnwrap(mid.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        XCTAssertFalse(port80.decide(peerIdentity: old.endpointIdentity(1), request: TestRequest("GET", "/")).allowed)
    }
}
