import SluiceModel
import XCTest

@testable import Policy

/// One CNP/CCNP rule: namespace scoping, default deny per direction and Cilium's rule checks.
final class CiliumRuleParserTests: XCTestCase {
    private func parse(_ yaml: String, namespace: String = "backend") throws -> (PolicyRule, [String]) {
        var parser = CiliumRuleParser(namespace: namespace)
        let rule = try parser.parseRule(yamlValue(yaml))
        return (rule, parser.warnings)
    }

    private func message(_ yaml: String, namespace: String = "backend") -> String? {
        var parser = CiliumRuleParser(namespace: namespace)
        return loadErrorMessage { () throws(LoadError) in try parser.parseRule((try? yamlValue(yaml))!) }
    }

    func testSelectorsAreScopedToTheNamespace() throws {
        let (rule, warnings) = try parse(
            """
            endpointSelector: {matchLabels: {app: db}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: web}}]
              toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
            """)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(rule.subject?.canonical, "{any:app=db, k8s:io.kubernetes.pod.namespace=backend}")
        XCTAssertEqual(
            rule.ingress[0].peers.endpoints.map(\.canonical),
            ["{any:app=web, k8s:io.kubernetes.pod.namespace=backend}"])
        XCTAssertEqual(rule.ingress[0].toPorts.map { $0.ports.map(\.canonical) }, [["5432/TCP"]])
        XCTAssertTrue(rule.defaultDenyIngress)
        XCTAssertFalse(rule.defaultDenyEgress)

        let (clusterwide, _) = try parse("endpointSelector: {}\negress: [{toEndpoints: [{}]}]", namespace: "")
        XCTAssertEqual(clusterwide.subject?.canonical, "{}")
        XCTAssertEqual(
            clusterwide.egress[0].peers.endpoints.map(\.canonical), ["{k8s:io.kubernetes.pod.namespace exists}"])
    }

    func testAnotherNamespaceInTheEndpointSelectorIsReplacedWithAWarning() throws {
        let (rule, warnings) = try parse(
            "endpointSelector: {matchLabels: {'k8s:io.kubernetes.pod.namespace': other}}\ningress: [{}]")
        XCTAssertEqual(rule.subject?.canonical, "{k8s:io.kubernetes.pod.namespace=backend}")
        XCTAssertEqual(
            warnings,
            [
                "endpointSelector names namespace other; a CiliumNetworkPolicy always applies in its own namespace backend"
            ])
    }

    func testDefaultDenyFollowsTheDirectionsAndEnableDefaultDeny() throws {
        let (egressDeny, _) = try parse("endpointSelector: {}\negressDeny: [{toEntities: [world]}]")
        XCTAssertFalse(egressDeny.defaultDenyIngress)
        XCTAssertTrue(egressDeny.defaultDenyEgress)
        XCTAssertEqual(egressDeny.egressDeny[0].peers.entities, ["world"])
        let (off, _) = try parse(
            "endpointSelector: {}\ningress: [{}]\negress: [{}]\nenableDefaultDeny: {ingress: false}")
        XCTAssertFalse(off.defaultDenyIngress)
        XCTAssertTrue(off.defaultDenyEgress)
    }

    func testEmptyRulesSelectNothing() throws {
        let (rule, _) = try parse(
            """
            endpointSelector: {}
            ingress:
            - {}
            - fromEntities: []
            - toPorts: [{ports: [{port: "80"}]}]
            """)
        XCTAssertEqual(rule.ingress.map(\.peers.selectsNothing), [true, true, false])
        XCTAssertEqual(rule.ingress.map(\.peers.isWildcard), [false, false, true])
    }

    func testRuleChecks() {
        XCTAssertEqual(message("ingress: [{}]"), "rule must have one of EndpointSelector or NodeSelector")
        XCTAssertEqual(
            message("endpointSelector: {}\nnodeSelector: {}\ningress: [{}]", namespace: ""),
            "rule cannot have both EndpointSelector and NodeSelector")
        XCTAssertEqual(
            message("nodeSelector: {}\ningress: [{}]"),
            "nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy")
        XCTAssertEqual(
            message("endpointSelector: {}"), "rule must have at least one of ingress, ingressDeny, egress, egressDeny")
        XCTAssertEqual(
            message("endpointSelector: {}\ningress: [{fromEndpoints: [{}], fromCIDR: [10.0.0.0/8]}]"),
            "Combining FromEndpoints and FromCIDR is not supported yet")
        XCTAssertEqual(
            message("endpointSelector: {}\ningress: [{fromNodes: [{}]}]"),
            "\"fromNodes\" is not supported by Sluice yet")
        XCTAssertEqual(
            message("endpointSelector: {}\negress: [{toServices: [{}], toPorts: [{ports: [{port: \"80\"}]}]}]"),
            "Combining ToServices and ToPorts is not supported yet")
        XCTAssertEqual(
            message("endpointSelector: {}\negressDeny: [{toFQDNs: [{matchName: a.com}]}]"),
            "unknown field \"toFQDNs\"")
        XCTAssertEqual(
            message("endpointSelector: {}\ningress: [{fromEntities: [moon]}]"), "unsupported entity: moon")
        XCTAssertEqual(
            message("endpointSelector: {}\ningress: [{fromRequires: [{}]}]"),
            "Too many: must have at most 0 items (fromRequires is deprecated)")
    }
}
