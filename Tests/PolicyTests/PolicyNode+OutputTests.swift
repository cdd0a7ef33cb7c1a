import PolicyYAML
import XCTest

@testable import Policy

/// `sluice policy get -o json|yaml`: stored documents printed back; the YAML reads back to the same tree.
final class PolicyNodeOutputTests: XCTestCase {
    private let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: allow-from-frontend
        spec:
          endpointSelector:
            matchLabels: {app: backend}
          ingress:
            - fromEndpoints:
                - matchLabels:
                    "k8s:io.kubernetes.pod.namespace": frontend
              toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                      - {method: GET, path: "/get"}
          egress: []
        """

    private func document() throws -> PolicyNode {
        try XCTUnwrap(PolicyYAML.documents(yaml, fileName: "p.yaml").first)
    }

    func testKey() throws {
        XCTAssertEqual(
            try document().policyKey,
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "allow-from-frontend"))
    }

    func testJSON() throws {
        XCTAssertEqual(
            try document().jsonText,
            #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"allow-from-frontend"},"spec":{"endpointSelector":{"matchLabels":{"app":"backend"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"k8s:io.kubernetes.pod.namespace":"frontend"}}],"toPorts":[{"ports":[{"port":"80","protocol":"TCP"}],"rules":{"http":[{"method":"GET","path":"/get"}]}}]}],"egress":[]}}"#
        )
    }

    func testYAMLGoldenAndReadsBack() throws {
        let lines = try document().yamlLines()
        XCTAssertEqual(
            lines,
            [
                "apiVersion: cilium.io/v2",
                "kind: CiliumNetworkPolicy",
                "metadata:",
                "  name: allow-from-frontend",
                "spec:",
                "  endpointSelector:",
                "    matchLabels:",
                "      app: backend",
                "  ingress:",
                "  - fromEndpoints:",
                "    - matchLabels:",
                "        k8s:io.kubernetes.pod.namespace: frontend",
                "    toPorts:",
                "    - ports:",
                "      - port: \"80\"",
                "        protocol: TCP",
                "      rules:",
                "        http:",
                "        - method: GET",
                "          path: /get",
                "  egress: []",
            ])
        let back = try XCTUnwrap(PolicyYAML.documents(lines.joined(separator: "\n"), fileName: "back.yaml").first)
        XCTAssertEqual(back.jsonText, try document().jsonText)
    }
}
