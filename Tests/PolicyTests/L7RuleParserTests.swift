import PolicyYAML
import XCTest

@testable import Policy

/// `toPorts[].rules` as L7RuleParser checks them, through a whole policy load.
final class L7RuleParserTests: XCTestCase {
    private func error(_ yaml: String) -> LoadError? { policyLoadError(yaml) }

    private func cnp(ports: String, rules: String, direction: String = "ingress") -> String {
        cnpWithOneToPorts(ports: ports, rules: rules, direction: direction)
    }

    private func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error(yaml)?.description, expected, file: file, line: line)
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
}
