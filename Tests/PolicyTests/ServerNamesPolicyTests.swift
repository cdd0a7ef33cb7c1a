import PolicyYAML
import XCTest

@testable import Policy

/// `toPorts[].serverNames`, `terminatingTLS` and `originatingTLS` in policy files: Cilium's
/// validation and wording first, then TLS interception accepted.
final class ServerNamesPolicyTests: XCTestCase {
    private func error(_ yaml: String) -> String? {
        do {
            try PolicyRepository().apply(yamlText: yaml, fileName: "policy.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    private func policy(_ toPort: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: p
          namespace: backend
        spec:
          endpointSelector: {}
          egress:
          - toPorts:
            - ports:
              - port: "443"
                protocol: TCP
        \(toPort)
        """
    }

    func testEmptyServerName() {
        XCTAssertEqual(
            error(policy("      serverNames: [\"api.example.com\", \"\"]")),
            "policy.yaml:13:40: spec.egress[0].toPorts[0].serverNames[1]: empty server name is not allowed")
    }

    func testServerNamesWithL7RulesNeedTLSTermination() {
        XCTAssertEqual(
            error(policy("      serverNames: [\"api.example.com\"]\n      rules:\n        http: [{method: GET}]")),
            "policy.yaml:13:20: spec.egress[0].toPorts[0].serverNames: ServerNames are not allowed with L7 rules without TLS termination"
        )
        // `http: []` is no L7 at all (Cilium L7Rules.IsEmpty): accepted as an SNI rule.
        XCTAssertNil(error(policy("      serverNames: [\"api.example.com\"]\n      rules:\n        http: []")))
    }

    func testInvalidPattern() {
        XCTAssertEqual(
            error(policy("      serverNames: [\"www.**.example.com\"]")),
            "policy.yaml:13:21: spec.egress[0].toPorts[0].serverNames[0]: invalid server name \"www.**.example.com\": \"**\" is only allowed as the whole first label, as in \"**.example.com\""
        )
        XCTAssertEqual(
            error(policy("      serverNames: [\"https://example.com\"]")),
            "policy.yaml:13:21: spec.egress[0].toPorts[0].serverNames[0]: invalid server name \"https://example.com\": only letters, digits, '-', '_', '.' and '*' are allowed"
        )
    }

    /// A valid serverNames list is accepted (the proxy enforces it, `TLSPortPolicyTests`).
    func testValidServerNamesAreAccepted() throws {
        XCTAssertNil(
            error(policy("      serverNames: [\"api.example.com\", \"*.example.org\", \"**.example.net\", \"*\"]")))
    }

    /// The port checks of L7 rules apply to serverNames: TCP (or ANY), no port 0, Sluice's range cap.
    func testServerNamesPortChecks() {
        let udp = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              egress:
              - toPorts:
                - ports: [{port: "443", protocol: UDP}]
                  serverNames: ["a.example"]
            """
        XCTAssertEqual(
            error(udp),
            "policy.yaml:8:39: spec.egress[0].toPorts[0].ports[0].protocol: serverNames can only apply to TCP (not UDP)"
        )
        XCTAssertEqual(
            error(udp.replacingOccurrences(of: "\"443\", protocol: UDP", with: "\"0\"")),
            "policy.yaml:8:22: spec.egress[0].toPorts[0].ports[0].port: serverNames can not be used when a port is 0")
        XCTAssertNil(error(udp.replacingOccurrences(of: "protocol: UDP", with: "protocol: ANY")))
    }

    func testParsedPatterns() throws {
        let yaml = "serverNames: [\"API.example.com\", \"*.example.org\"]\nports: [{port: \"443\", protocol: TCP}]\n"
        let root = try XCTUnwrap(PolicyYAML.documents(yaml, fileName: "t.yaml").first)
        let value = YAMLValue(node: root, path: "", file: "t.yaml")
        let mapping = try value.mapping(allowing: ["serverNames", "ports"])
        let patterns = try PortRuleParser.parseServerNames(mapping, hasL7Rules: false)
        XCTAssertEqual(patterns.map(\.description), ["api.example.com", "*.example.org"])
        XCTAssertTrue(patterns[1].matches("www.example.org"))
        XCTAssertFalse(patterns[1].matches(nil))
    }

    func testEmptyServerNamesListIsNoConstraint() {
        XCTAssertNil(error(policy("      serverNames: []")))
    }

    func testTLSInterceptionIsAccepted() {
        let secret = "\n        secret: {namespace: kube-system, name: tls}"
        XCTAssertNil(error(policy("      terminatingTLS:" + secret)))
        XCTAssertNil(error(policy("      originatingTLS:" + secret)))
        // With terminatingTLS, serverNames and L7 rules pass Cilium's check.
        XCTAssertNil(
            error(
                policy(
                    "      serverNames: [\"a.example\"]\n      rules:\n        http: [{}]\n      terminatingTLS:"
                        + secret)))
        XCTAssertEqual(
            error(policy("      terminatingTLS: {}")),
            "policy.yaml:13:23: spec.egress[0].toPorts[0].terminatingTLS: missing required field \"secret\"")
    }
}
