import SluiceJSON
import SluiceModel
import XCTest

@testable import Policy

final class EndpointDescriptorTests: XCTestCase {
    func testIdentityLabelsAreCiliumsSorted() {
        let endpoint = EndpointDescriptor(
            id: 1, namespace: "prod", podName: "web-1", podLabels: ["app": "web", "tier": "front"],
            namespaceLabels: ["team": "a"], ipv4: 0, serviceAccount: "")
        XCTAssertEqual(
            endpoint.identityLabels.map(\.description),
            [
                "k8s:app=web",
                "k8s:io.cilium.k8s.namespace.labels.team=a",
                "k8s:io.cilium.k8s.policy.cluster=default",
                "k8s:io.cilium.k8s.policy.serviceaccount=default",
                "k8s:io.kubernetes.pod.namespace=prod",
                "k8s:tier=front",
            ])
        let named = EndpointDescriptor(id: 2, namespace: "a", podName: "b", ipv4: 0, serviceAccount: "robot")
        XCTAssertTrue(named.identityLabels.contains(.k8s(Label.serviceAccountKey, "robot")))
    }

    func testNamedPortIsCaseInsensitive() {
        let endpoint = EndpointDescriptor(
            id: 1, namespace: "a", podName: "b", ipv4: 0, namedPorts: ["HTTP-Alt": 8080, "dns": 53])
        XCTAssertEqual(endpoint.namedPort("http-alt"), 8080)
        XCTAssertEqual(endpoint.namedPort("DNS"), 53)
        XCTAssertNil(endpoint.namedPort("http"))
    }

    /// The agent's Kubernetes state cache stores descriptors under these keys (`pod` for
    /// `podName`); a record missing one is refused.
    func testJSONShape() throws {
        let endpoint = EndpointDescriptor(
            id: 3, namespace: "a", podName: "web", podLabels: ["app": "web"], ipv4: 7, namedPorts: ["http": 80])
        let text = String(decoding: try JSON.encode(endpoint, sortedKeys: true), as: UTF8.self)
        XCTAssertEqual(
            text,
            #"{"id":3,"ipv4":7,"namedPorts":{"http":80},"namespace":"a","namespaceLabels":{},"#
                + #""pod":"web","podLabels":{"app":"web"},"serviceAccount":"default"}"#)
        XCTAssertEqual(try JSON.decode(EndpointDescriptor.self, from: text), endpoint)
        XCTAssertThrowsError(
            try JSON.decode(EndpointDescriptor.self, from: text.replacing(#""pod""#, with: #""podName""#)))
    }
}
