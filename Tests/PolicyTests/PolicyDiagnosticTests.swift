import XCTest

@testable import Policy

final class PolicyDiagnosticTests: XCTestCase {
    private let a = PolicyDiagnostic.Source(
        file: "a.yaml", line: 3, key: PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "x"))
    private let b = PolicyDiagnostic.Source(
        file: "b.yaml", line: 9, key: PolicyKey(kind: .networkPolicy, namespace: "prod", name: "y"))

    func testNoSourceIsTheMessageAlone() {
        XCTAssertEqual(PolicyDiagnostic(message: "too many entries", sources: []).description, "too many entries")
    }

    func testFirstSourceLeadsAndTheOthersFollow() {
        XCTAssertEqual(
            PolicyDiagnostic(message: "HTTP and DNS rules on port 80", sources: [a]).description,
            "a.yaml:3: ciliumnetworkpolicy.cilium.io/default/x: HTTP and DNS rules on port 80")
        XCTAssertEqual(
            PolicyDiagnostic(message: "HTTP and DNS rules on port 80", sources: [a, b, a]).description,
            "a.yaml:3: ciliumnetworkpolicy.cilium.io/default/x: HTTP and DNS rules on port 80 (also "
                + "b.yaml:9: networkpolicy.networking.k8s.io/prod/y, a.yaml:3: ciliumnetworkpolicy.cilium.io/default/x)"
        )
    }
}
