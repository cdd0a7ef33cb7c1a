import PolicyYAML
import XCTest

@testable import Policy

/// `toPorts` port entries as PortRuleParser checks them, through a whole policy load.
final class PortRuleParserTests: XCTestCase {
    private func error(_ yaml: String) -> LoadError? { policyLoadError(yaml) }

    private func cnp(ports: String, rules: String, direction: String = "ingress") -> String {
        cnpWithOneToPorts(ports: ports, rules: rules, direction: direction)
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
}
