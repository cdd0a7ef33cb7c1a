import PolicyYAML
import XCTest

@testable import Policy

final class LoadErrorTests: XCTestCase {
    private func error(_ yaml: String) -> LoadError? { policyLoadError(yaml) }

    private func cnp(ports: String, rules: String, direction: String = "ingress") -> String {
        cnpWithOneToPorts(ports: ports, rules: rules, direction: direction)
    }

    private func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error(yaml)?.description, expected, file: file, line: line)
    }

    func testUnsupportedAndMissingPieces() {
        assertError(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
            "policy.yaml:2:7: kind: no matches for kind \"Namespace\" in version \"v1\" (sluice takes CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy)"
        )
        assertError(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\nspec:\n  endpointSelector: {}\n",
            "policy.yaml:5:3: spec: rule must have at least one of ingress, ingressDeny, egress, egressDeny")
        assertError(
            cnp(
                ports: "          - port: \"9092\"\n            protocol: TCP",
                rules: "            kafka: [{topic: orders}]",
                direction: "egress"),
            "policy.yaml:14:20: spec.egress[0].toPorts[0].rules.kafka: \"kafka\" rules are not supported by Sluice")
    }

    /// The rest of semantics 1.11 and Cilium's rule checks (rule_validation.go wording).
    func testDNSPortChecksAndRuleShape() {
        assertError(
            cnp(
                ports: "          - port: \"53\"\n            endPort: 54",
                rules: "            dns: [{matchPattern: \"*\"}]",
                direction: "egress"),
            "policy.yaml:11:19: spec.egress[0].toPorts[0].ports[0].port: DNS rules do not support port ranges")
        assertError(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              egress:
              - toPorts:
                - rules:
                    dns: [{matchPattern: "*"}]
            """, "policy.yaml:9:9: spec.egress[0].toPorts[0].rules: Port 53 must be specified for DNS rules")
        assertError(
            cnp(ports: "          - port: \"80\"\n            protocol: TCP", rules: "            l7: [{key: value}]"),
            "policy.yaml:14:17: spec.ingress[0].toPorts[0].rules.l7: 'l7' may only be specified when a 'l7proto' is also specified"
        )
        assertError(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              nodeSelector: {}
              ingress: [{}]
            """, "policy.yaml:6:17: spec.nodeSelector: rule cannot have both EndpointSelector and NodeSelector")
        assertError(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              ingress: [{}]
            """, "policy.yaml:5:3: spec: rule must have one of EndpointSelector or NodeSelector")
        assertError(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              egress:
              - toEndpoints: [{}]
                toCIDR: [10.0.0.0/8]
            """, "policy.yaml:7:5: spec.egress[0]: Combining ToEndpoints and ToCIDR is not supported yet")
        assertError(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromRequires: [{matchLabels: {env: prod}}]
            """,
            "policy.yaml:7:19: spec.ingress[0].fromRequires: Too many: must have at most 0 items (fromRequires is deprecated)"
        )
        // Deny rules are L3/L4 only: no `rules`, no toFQDNs.
        XCTAssertNotNil(
            error(
                """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: p, namespace: backend}
                spec:
                  endpointSelector: {}
                  egressDeny:
                  - toFQDNs: [{matchName: a.com}]
                """))
        XCTAssertNotNil(
            error(
                """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: p, namespace: backend}
                spec:
                  endpointSelector: {}
                  ingressDeny:
                  - toPorts:
                    - ports: [{port: "80", protocol: TCP}]
                      rules: {http: [{}]}
                """))
    }

    func testYAMLSyntaxError() {
        let error = error("apiVersion: cilium.io/v2\nkind: [\n")
        XCTAssertEqual(error?.file, "policy.yaml")
        XCTAssertEqual(error?.line, 3)
    }
}
