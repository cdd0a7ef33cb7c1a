import SluiceModel
import XCTest

@testable import Policy

/// Label selectors parsed per key source, and the namespace scoping Cilium adds to peers.
final class SelectorParserTests: XCTestCase {
    private func parse(_ yaml: String, _ keys: SelectorParser.KeySource) throws -> LabelSelector {
        try SelectorParser.parse(yamlValue(yaml), keys: keys)
    }

    func testMatchLabelsTakeTheirSourcePerKeySource() throws {
        XCTAssertEqual(
            try parse("matchLabels: {app: web, 'k8s:tier': db}", .fromPrefix).canonical,
            "{any:app=web, k8s:tier=db}")
        XCTAssertEqual(try parse("matchLabels: {app: web}", .k8s).canonical, "{k8s:app=web}")
        XCTAssertEqual(
            try parse("matchLabels: {team: a}", .namespaceLabel).canonical,
            "{k8s:io.cilium.k8s.namespace.labels.team=a}")
        XCTAssertEqual(try parse("{}", .fromPrefix).canonical, "{}")
    }

    func testMatchExpressionsSortTheirValues() throws {
        let selector = try parse(
            """
            matchExpressions:
            - {key: tier, operator: In, values: [b, a]}
            - {key: 'k8s:env', operator: DoesNotExist}
            - {key: zone, operator: NotIn, values: [x]}
            """, .fromPrefix)
        XCTAssertEqual(selector.canonical, "{any:tier in (a,b), any:zone notin (x), !k8s:env}")
    }

    func testExpressionErrors() {
        func message(_ expression: String) -> String? {
            loadErrorMessage { () throws(LoadError) in
                try SelectorParser.parse(
                    (try? yamlValue("matchExpressions: [\(expression)]"))!, keys: .fromPrefix)
            }
        }
        XCTAssertEqual(message("{key: '', operator: Exists}"), "key must not be empty")
        XCTAssertEqual(message("{key: a, operator: Bogus}"), "\"Bogus\" is not a valid label selector operator")
        XCTAssertEqual(
            message("{key: a, operator: In}"),
            "values: Required value: must be specified when `operator` is 'In' or 'NotIn'")
        XCTAssertEqual(
            message("{key: a, operator: Exists, values: [x]}"),
            "values: Invalid value: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        XCTAssertEqual(message("{key: a, operator: Exists, extra: 1}"), "unknown field \"extra\"")
    }

    func testScopePeerAddsTheNamespaceUnlessNamedOrReserved() throws {
        let web = try parse("matchLabels: {app: web}", .fromPrefix)
        XCTAssertEqual(
            SelectorParser.scopePeer(web, namespace: "backend").canonical,
            "{any:app=web, k8s:io.kubernetes.pod.namespace=backend}")
        XCTAssertEqual(
            SelectorParser.scopePeer(web, namespace: "").canonical,
            "{any:app=web, k8s:io.kubernetes.pod.namespace exists}")
        let named = try parse("matchLabels: {'k8s:io.kubernetes.pod.namespace': other}", .fromPrefix)
        XCTAssertEqual(SelectorParser.scopePeer(named, namespace: "backend"), named)
        let reserved = try parse("matchLabels: {'reserved:host': ''}", .fromPrefix)
        XCTAssertEqual(SelectorParser.scopePeer(reserved, namespace: "backend"), reserved)
    }
}
