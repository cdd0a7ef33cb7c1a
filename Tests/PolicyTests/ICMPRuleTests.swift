import PolicyYAML
import XCTest

@testable import Policy

/// `icmps`, SCTP and `protocol: ANY` in the compiled L3/L4 entries (cilium-hardening.md 1), and
/// every `icmps` validation message as Cilium words it (pkg/policy/api/icmp.go,
/// rule_validation.go). Identities of `Fixtures.tutorialEndpoints`: frontend 256, backend 257.
final class ICMPRuleTests: XCTestCase {
    private let frontend: UInt32 = 256
    private let backendID: UInt32 = 2

    private func compile(_ text: String) throws -> PolicySnapshot { try Fixtures.compile(file: text) }

    /// A CNP on the backend pod with one rule `rule` (YAML lines indented for `- `).
    private func cnp(_ rule: String, section: String = "ingress") -> String {
        Fixtures.backendCNP(rule, section: section)
    }

    private func error(_ yaml: String) -> String? { Fixtures.compileError(yaml) }

    /// The backend's ingress entries, as `PolicyMapKey` descriptions with their actions.
    private func ingress(_ snapshot: PolicySnapshot) -> [String] {
        snapshot.policyMapEntries.filter { $0.key.endpointID == backendID && $0.key.direction == .ingress }
            .map { "\($0.key) \($0.action)" }
    }

    func testFieldsBecomeICMPEntriesPerFamily() throws {
        let snapshot = try compile(
            cnp(
                """
                  - fromEndpoints: [{matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: frontend}}]
                    icmps:
                    - fields:
                      - type: 8
                        family: IPv4
                      - type: EchoReply
                      - type: EchoRequest
                        family: IPv6
                      - type: "3"
                """))
        XCTAssertEqual(
            ingress(snapshot).filter { !$0.contains("from 1 ") },
            [
                "endpoint 2 INGRESS from 256 type 0/ICMP allow",
                "endpoint 2 INGRESS from 256 type 3/ICMP allow",
                "endpoint 2 INGRESS from 256 type 8/ICMP allow",
                "endpoint 2 INGRESS from 256 type 128/ICMPv6 allow",
            ])
        // EchoReply (type 0) is its own entry, not the any-type wildcard port 0.
        let wildcard = PolicyMapKey(
            endpointID: backendID, identity: frontend, port: 0, proto: IPProtocol.icmp,
            direction: .ingress)
        XCTAssertNil(snapshot.policyMap[wildcard])
        XCTAssertEqual(ICMPType.policyPort(8), 0x108)
    }

    func testICMPOnlyRuleSelectsEveryPeerAndDenyRulesDeny() throws {
        let snapshot = try compile(
            cnp(
                """
                  - icmps: [{fields: [{type: Echo}]}]
                  ingressDeny:
                  - fromEndpoints: [{matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: frontend}}]
                    icmps: [{fields: [{type: 8}]}]
                """))
        XCTAssertEqual(
            ingress(snapshot).filter { !$0.contains("from 1 ") },
            [
                "endpoint 2 INGRESS from * type 8/ICMP allow",
                "endpoint 2 INGRESS from 256 type 8/ICMP deny",
            ])
    }

    func testL3OnlyCoversICMPAndOtherProtocolsButANYDoesNot() throws {
        let l3 = try compile(
            cnp(
                """
                  - fromEndpoints: [{matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: frontend}}]
                """))
        XCTAssertEqual(
            ingress(l3).filter { $0.contains("from 256 ") },
            [
                "endpoint 2 INGRESS from 256 */other allow", "endpoint 2 INGRESS from 256 */ICMP allow",
                "endpoint 2 INGRESS from 256 */TCP allow", "endpoint 2 INGRESS from 256 */UDP allow",
                "endpoint 2 INGRESS from 256 */ICMPv6 allow", "endpoint 2 INGRESS from 256 */SCTP allow",
            ])
        let any = try compile(
            cnp(
                """
                  - fromEndpoints: [{matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: frontend}}]
                    toPorts: [{ports: [{port: "0", protocol: ANY}]}]
                """))
        XCTAssertEqual(
            ingress(any).filter { $0.contains("from 256 ") },
            [
                "endpoint 2 INGRESS from 256 */TCP allow", "endpoint 2 INGRESS from 256 */UDP allow",
                "endpoint 2 INGRESS from 256 */SCTP allow",
            ])
    }

    func testSCTPPortsAreEntries() throws {
        let snapshot = try compile(
            cnp(
                """
                  - fromEndpoints: [{matchLabels: {app: frontend, k8s:io.kubernetes.pod.namespace: frontend}}]
                    toPorts: [{ports: [{port: "9999", protocol: SCTP}, {port: "53"}]}]
                """))
        XCTAssertEqual(
            ingress(snapshot).filter { $0.contains("from 256 ") },
            [
                "endpoint 2 INGRESS from 256 53/TCP allow", "endpoint 2 INGRESS from 256 53/UDP allow",
                "endpoint 2 INGRESS from 256 53/SCTP allow", "endpoint 2 INGRESS from 256 9999/SCTP allow",
            ])
    }

    // MARK: validation (Cilium's messages)

    func testICMPsWithToPorts() {
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: 8}]}]
                        toPorts: [{ports: [{port: "80"}]}]
                    """)),
            "policy.yaml:7:12: spec.ingress[0].icmps: the ICMPs block may only be present without ToPorts. "
                + "Define a separate rule to use ToPorts")
        // An empty toPorts list is no toPorts (Cilium counts entries).
        XCTAssertNil(
            error(
                cnp(
                    """
                      - icmps: [{fields: [{type: 8}]}]
                        toPorts: []
                    """)))
    }

    func testICMPIsNoToPortsProtocol() {
        XCTAssertEqual(
            error(
                cnp(
                    """
                      - toPorts: [{ports: [{port: "8", protocol: ICMP}]}]
                    """)),
            "policy.yaml:7:46: spec.ingress[0].toPorts[0].ports[0].protocol: "
                + "invalid protocol \"ICMP\", must be { tcp | udp | sctp | any }")
    }
}
