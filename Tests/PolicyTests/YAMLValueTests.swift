import PolicyYAML
import XCTest

@testable import Policy

/// Strict decoding of mappings (YAMLValue.mapping), through a whole policy load.
final class YAMLValueTests: XCTestCase {
    private func error(_ yaml: String) -> LoadError? { policyLoadError(yaml) }

    private func cnp(ports: String, rules: String, direction: String = "ingress") -> String {
        cnpWithOneToPorts(ports: ports, rules: rules, direction: direction)
    }

    private func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error(yaml)?.description, expected, file: file, line: line)
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
}
