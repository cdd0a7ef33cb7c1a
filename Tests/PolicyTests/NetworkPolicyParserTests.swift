import SluiceModel
import XCTest

@testable import Policy

/// A Kubernetes NetworkPolicy `spec` translated into one Cilium rule as Cilium does.
final class NetworkPolicyParserTests: XCTestCase {
    private func parse(_ yaml: String) throws -> PolicyRule {
        try NetworkPolicyParser.parseSpec(yamlValue(yaml), namespace: "backend")
    }

    private func message(_ yaml: String) -> String? {
        loadErrorMessage { () throws(LoadError) in
            try NetworkPolicyParser.parseSpec((try? yamlValue(yaml))!, namespace: "backend")
        }
    }

    func testPeersPortsAndNamespaceScoping() throws {
        let rule = try parse(
            """
            podSelector: {matchLabels: {app: db}}
            ingress:
            - from:
              - podSelector: {matchLabels: {app: web}}
              - namespaceSelector: {}
              - namespaceSelector: {matchLabels: {team: a}}
                podSelector: {matchLabels: {app: api}}
              - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
              ports:
              - port: 5432
            """)
        XCTAssertEqual(rule.subject?.canonical, "{k8s:app=db, k8s:io.kubernetes.pod.namespace=backend}")
        XCTAssertEqual(rule.ingress.count, 1)
        let peers = rule.ingress[0].peers
        XCTAssertFalse(peers.explicitlyEveryone)
        XCTAssertEqual(
            peers.endpoints.map(\.canonical),
            [
                "{k8s:app=web, k8s:io.kubernetes.pod.namespace=backend}",
                "{k8s:io.cilium.k8s.policy.cluster=default, k8s:io.kubernetes.pod.namespace exists}",
                "{k8s:app=api, k8s:io.cilium.k8s.namespace.labels.team=a, k8s:io.cilium.k8s.policy.cluster=default}",
            ])
        XCTAssertEqual(peers.cidrs, [CIDRRule(cidr: "10.0.0.0/8", except: ["10.1.0.0/16"])])
        XCTAssertEqual(rule.ingress[0].toPorts.map { $0.ports.map(\.canonical) }, [["5432/TCP"]])
        XCTAssertEqual(rule.egress.count, 0)
        XCTAssertTrue(rule.defaultDenyIngress)
        XCTAssertFalse(rule.defaultDenyEgress)
    }

    func testPolicyTypesDefaultFromTheRules() throws {
        let both = try parse("podSelector: {}\negress:\n- {}")
        XCTAssertTrue(both.defaultDenyIngress)
        XCTAssertTrue(both.defaultDenyEgress)
        XCTAssertTrue(both.egress[0].peers.explicitlyEveryone, "an empty `to` means every peer")
        XCTAssertTrue(both.egress[0].peers.isWildcard)
        XCTAssertEqual(both.egress[0].toPorts.count, 0)

        let egressOnly = try parse("podSelector: {}\npolicyTypes: [Egress]")
        XCTAssertFalse(egressOnly.defaultDenyIngress)
        XCTAssertTrue(egressOnly.defaultDenyEgress)

        let ingressOnly = try parse("podSelector: {}")
        XCTAssertTrue(ingressOnly.defaultDenyIngress)
        XCTAssertFalse(ingressOnly.defaultDenyEgress)
    }

    func testErrors() {
        XCTAssertEqual(message("policyTypes: [Ingress]"), "missing required field \"podSelector\"")
        XCTAssertEqual(
            message("podSelector: {}\npolicyTypes: [Both]"),
            "Unsupported value: \"Both\": supported values: \"Ingress\", \"Egress\"")
        XCTAssertEqual(
            message("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {}"),
            "may not be specified when `podSelector` or `namespaceSelector` is specified")
        XCTAssertEqual(message("podSelector: {}\ningress:\n- from:\n  - {}"), "must specify a peer")
    }
}
