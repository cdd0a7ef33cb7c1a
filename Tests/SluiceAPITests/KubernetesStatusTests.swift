import SluiceJSON
import XCTest

@testable import SluiceAPI

/// The Kubernetes part of `sluice status`: its lines, the object key split, and the JSON
/// round trip inside the introspect answer (absent from an agent without the API).
final class KubernetesStatusTests: XCTestCase {
    private let status = KubernetesStatus(
        server: "https://127.0.0.1:6443", source: "in-cluster", synced: true,
        resources: [
            .init(name: "ciliumnetworkpolicies", resourceVersion: "42", lists: 2),
            .init(name: "pods", resourceVersion: nil, lists: 0),
        ],
        lastError: "watch /api/v1/pods: connection refused (3s ago)", identities: "per node", policiesInForce: 2,
        errors: [
            .init(key: "ciliumnetworkpolicies/default/bad", error: "k8s:CiliumNetworkPolicy/default/bad: bad regex"),
            .init(key: "ciliumclusterwidenetworkpolicies/wide", error: "x"),
        ])

    func testLines() {
        XCTAssertEqual(
            status.lines,
            [
                "Kubernetes:       Ok   https://127.0.0.1:6443 (in-cluster)",
                "  ciliumnetworkpolicies:   resourceVersion 42,   listed 2x",
                "  pods:                    resourceVersion -,    not listed",
                "  last error: watch /api/v1/pods: connection refused (3s ago)",
                "  identities: per node",
                "  policies from the API: 2 in force, 2 with errors:",
                "    ciliumnetworkpolicies default/bad: k8s:CiliumNetworkPolicy/default/bad: bad regex",
                "    ciliumclusterwidenetworkpolicies wide: x",
            ])
        // With --endpoints-from=kubernetes: the node's own addresses (host) after the identities.
        var local = status
        local.nodeAddresses = ["10.9.0.1", "192.168.5.2"]
        XCTAssertEqual(local.lines[5], "  node addresses (host): 10.9.0.1, 192.168.5.2")
        local.nodeAddresses = []
        XCTAssertEqual(local.lines[5], "  node addresses (host): none")
    }

    func testObjectKeys() {
        XCTAssertEqual(status.errors[0].resource, "ciliumnetworkpolicies")
        XCTAssertEqual(status.errors[0].namespace, "default")
        XCTAssertEqual(status.errors[0].name, "bad")
        XCTAssertEqual(status.errors[1].namespace, "")
        XCTAssertEqual(status.errors[1].name, "wide")
    }

    func testInTheIntrospectAnswer() throws {
        var info = AgentIntrospection(
            version: "v", uptimeSeconds: 1, nodeName: "n1", datapathAttached: false, endpoints: [], identities: [],
            policies: [], l7Ports: [], proxyWorkers: 1, flowsSeen: 0, flowRingSize: 1, dnsProxy: "not running",
            lastApply: nil)
        XCTAssertFalse(IntrospectionText.status(info).contains { $0.hasPrefix("Kubernetes:") })
        info.kubernetes = status
        let decoded = try JSON.decode(AgentIntrospection.self, from: JSON.encode(info))
        XCTAssertEqual(decoded.kubernetes, status)
        XCTAssertEqual(Array(IntrospectionText.status(decoded).suffix(8)), status.lines)
    }
}
