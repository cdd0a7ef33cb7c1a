import PolicyYAML
import XCTest

@testable import Policy

final class LoadErrorTests: XCTestCase {
    private func error(_ yaml: String) -> LoadError? {
        do {
            try PolicyRepository().apply(yamlText: yaml, fileName: "policy.yaml")
            return nil
        } catch {
            return error
        }
    }

    private func cnp(ports: String, rules: String, direction: String = "ingress") -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: p
          namespace: backend
        spec:
          endpointSelector: {}
          \(direction):
          - toPorts:
            - ports:
        \(ports)
              rules:
        \(rules)
        """
    }

    private func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error(yaml)?.description, expected, file: file, line: line)
    }

    func testHTTPNeedsExplicitTCP() {
        assertError(
            cnp(ports: "          - port: \"80\"\n            protocol: UDP", rules: "            http: [{}]"),
            "policy.yaml:12:23: spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules can only apply to TCP (not UDP) except for DNS rules"
        )
        assertError(
            cnp(ports: "          - port: \"80\"", rules: "            http: [{}]"),
            "policy.yaml:11:13: spec.ingress[0].toPorts[0].ports[0]: L7 rules can only apply to TCP (not ANY) except for DNS rules"
        )
    }

    func testL7WithPortZero() {
        assertError(
            cnp(ports: "          - port: \"0\"\n            protocol: TCP", rules: "            http: [{}]"),
            "policy.yaml:11:19: spec.ingress[0].toPorts[0].ports[0].port: L7 rules can not be used when a port is 0")
    }

    func testTooManyPorts() {
        let ports = (1...41).map { "          - port: \"\($0)\"" }.joined(separator: "\n")
        assertError(
            cnp(ports: ports, rules: "            http: []"),
            "policy.yaml:11:11: spec.ingress[0].toPorts[0].ports: too many ports, the max is 40")
    }

    func testTwoL7Types() {
        assertError(
            cnp(
                ports: "          - port: \"53\"",
                rules: "            http: [{}]\n            dns: [{matchName: a.com}]",
                direction: "egress"),
            "policy.yaml:13:13: spec.egress[0].toPorts[0].rules: multiple L7 protocol rule types specified in single rule"
        )
    }

    func testDNSOnIngress() {
        assertError(
            cnp(ports: "          - port: \"53\"", rules: "            dns: [{matchPattern: \"*\"}]"),
            "policy.yaml:13:18: spec.ingress[0].toPorts[0].rules.dns: L7 protocol DNS is not supported on ingress yet")
    }

    func testBadRegexAndProgramSize() {
        let tcp = "          - port: \"80\"\n            protocol: TCP"
        assertError(
            cnp(ports: tcp, rules: "            http:\n            - method: GET\n              path: \"/a(\""),
            "policy.yaml:16:21: spec.ingress[0].toPorts[0].rules.http[0].path: invalid regex \"/a(\": missing ): /a(")
        let long = String(repeating: "/segment", count: 20)
        let message = error(cnp(ports: tcp, rules: "            http:\n            - path: \"\(long)\""))
        XCTAssertEqual(message?.field, "spec.ingress[0].toPorts[0].rules.http[0].path")
        XCTAssertEqual(message?.line, 15)
        XCTAssertTrue(message?.message.contains("> max program size of 100") ?? false, "\(String(describing: message))")
    }

    func testFQDNSelectorErrors() {
        let dns = "          - port: \"53\"\n            protocol: UDP"
        assertError(
            cnp(
                ports: dns,
                rules: "            dns:\n            - matchName: a.com\n              matchPattern: \"*.a.com\"",
                direction: "egress"),
            "policy.yaml:15:15: spec.egress[0].toPorts[0].rules.dns[0]: only one of MatchName or MatchPattern is allowed in an FQDNSelector"
        )
        assertError(
            cnp(ports: dns, rules: "            dns:\n            - matchName: \"a b.com\"", direction: "egress"),
            "policy.yaml:15:26: spec.egress[0].toPorts[0].rules.dns[0].matchName: Invalid characters in MatchName: \"a b.com\". Only 0-9, a-z, A-Z and . and - characters are allowed"
        )
    }

    func testUnknownFieldIsNamed() {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: p
              labels: {ignored: "yes"}
            spec:
              endpointSelector: {}
              ingress:
              - fromEndpoint:
                - {}
            """
        assertError(yaml, "policy.yaml:9:5: spec.ingress[0].fromEndpoint: unknown field \"fromEndpoint\"")
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
