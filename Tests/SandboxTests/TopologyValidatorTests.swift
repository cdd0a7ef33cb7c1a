import SluiceAPI
import SluiceModel
import XCTest

@testable import Sandbox

/// The checks after decoding (TopologyValidator): names, duplicates, namespaces, servers, world hosts.
final class TopologyValidatorTests: XCTestCase {
    private func parseError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> TopologyError? {
        do {
            _ = try Topology.parse(yaml: yaml, file: "t.yaml")
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testDuplicatePod() {
        let error = parseError("pods:\n  - name: a\n  - name: b\n  - name: a\n    namespace: default\n")
        XCTAssertEqual(error?.field, "pods[2].name")
        XCTAssertEqual(error?.line, 4)
        XCTAssertEqual(error?.message, "duplicate pod \"default/a\"")
    }

    func testSamePodNameInTwoNamespacesIsFine() throws {
        let topology = try Topology.parse(
            yaml: """
                namespaces: [{name: x}]
                pods: [{name: a}, {name: a, namespace: x}]
                """)
        XCTAssertEqual(topology.pods.count, 2)
    }

    func testKubeDNSIsReserved() {
        let error = parseError("pods:\n  - name: kube-dns\n    namespace: kube-system\n")
        XCTAssertTrue(error?.message.contains("duplicate pod \"kube-system/kube-dns\"") ?? false)
    }

    func testUndeclaredNamespace() {
        let error = parseError("namespaces: [{name: backend}]\npods:\n  - name: a\n    namespace: frontend\n")
        XCTAssertEqual(error?.field, "pods[0].namespace")
        XCTAssertEqual(error?.line, 4)
        XCTAssertEqual(error?.message, "namespace \"frontend\" is not declared under namespaces")
    }

    func testDuplicateNamespaceAndBadNames() {
        XCTAssertEqual(parseError("namespaces: [{name: a}, {name: a}]")?.message, "duplicate namespace \"a\"")
        XCTAssertEqual(parseError("namespaces: [{name: Bad_Name}]")?.field, "namespaces[0].name")
        XCTAssertEqual(parseError("pods: [{name: a.b}]")?.message, "\"a.b\" is not a DNS label")
    }

    func testTwoServersOnOnePort() {
        let error = parseError("pods:\n  - name: a\n    servers: [\"tcp:80\", \"httpbin:80\"]\n")
        XCTAssertEqual(error?.field, "pods[0].servers[1]")
        XCTAssertEqual(error?.message, "port 80 is used by two servers")
    }

    func testWorldErrors() {
        XCTAssertEqual(parseError("world: [{name: a.com, addresses: [10.244.3.3]}]")?.field, "world[0].addresses[0]")
        XCTAssertEqual(
            parseError("world: [{name: a.com, addresses: [192.0.2.1, 1.2.3]}]")?.field, "world[0].addresses[1]")
        XCTAssertEqual(parseError("world: [{name: a.com, addresses: []}]")?.message, "needs at least one address")
        XCTAssertEqual(
            parseError(
                """
                world: [{name: a.com, addresses: [192.0.2.1]}, {name: b.com, addresses: [192.0.2.1]}]
                """)?.message, "192.0.2.1 is already used by \"a.com\"")
        XCTAssertEqual(parseError("world: [{name: -a.com, addresses: [192.0.2.1]}]")?.field, "world[0].name")
        XCTAssertEqual(
            parseError("world: [{name: -a.com, addresses: [192.0.2.1]}]")?.message, "\"-a.com\" is not a DNS name")
        XCTAssertEqual(
            parseError(
                """
                world: [{name: a.com, addresses: [192.0.2.1]}, {name: a.com, addresses: [192.0.2.2]}]
                """)?.message, "duplicate world name \"a.com\"")
    }

    func testNameHelpers() {
        XCTAssertTrue(TopologyValidator.isDNSLabel("a-1"))
        XCTAssertFalse(TopologyValidator.isDNSLabel("-a"))
        XCTAssertFalse(TopologyValidator.isDNSLabel("a-"))
        XCTAssertFalse(TopologyValidator.isDNSLabel("A"))
        XCTAssertFalse(TopologyValidator.isDNSLabel(String(repeating: "a", count: 64)))
        XCTAssertTrue(TopologyValidator.isDNSLabel(String(repeating: "a", count: 63)))
        XCTAssertTrue(TopologyValidator.isDNSName("api.example.com"))
        XCTAssertFalse(TopologyValidator.isDNSName("api..example.com"))
        XCTAssertFalse(TopologyValidator.isDNSName(""))
    }

    func testReservedWorldAddresses() {
        XCTAssertEqual(
            TopologyValidator.reservedReason(IPv4Address(10, 244, 3, 3)),
            "is inside the pod network \(SandboxPlan.podNetwork)/\(SandboxPlan.podNetworkPrefixLength)")
        XCTAssertEqual(TopologyValidator.reservedReason(IPv4Address(127, 0, 0, 1)), "is a loopback address")
        XCTAssertEqual(TopologyValidator.reservedReason(IPv4Address(0, 1, 2, 3)), "is in 0.0.0.0/8")
        XCTAssertEqual(TopologyValidator.reservedReason(IPv4Address(224, 0, 0, 0)), "is multicast or reserved")
        XCTAssertEqual(TopologyValidator.reservedReason(IPv4Address(255, 255, 255, 255)), "is multicast or reserved")
        XCTAssertNil(TopologyValidator.reservedReason(IPv4Address(192, 0, 2, 1)))
        XCTAssertNil(TopologyValidator.reservedReason(IPv4Address(223, 255, 255, 255)))
    }

    // MARK: - Nodes (issue 18)

    func testNodesAndPodNodeParse() throws {
        let topology = try Topology.parse(
            yaml: """
                nodes: [{name: n1}, {name: n2}]
                pods: [{name: a}, {name: b, node: n2}]
                """)
        XCTAssertEqual(topology.nodes.map(\.name), ["n1", "n2"])
        XCTAssertEqual(topology.pods.map(\.node), [nil, "n2"])
    }

    func testUndeclaredNodeNamesFileLineAndField() {
        let error = parseError("nodes:\n  - name: n1\npods:\n  - name: a\n    node: n3\n")
        XCTAssertEqual(error?.description, "t.yaml:5: pods[0].node: node \"n3\": it is not declared under nodes")
    }

    func testPodNodeWithoutNodes() {
        let error = parseError("pods:\n  - name: a\n    node: n1\n")
        XCTAssertEqual(error?.field, "pods[0].node")
        XCTAssertEqual(error?.message, "node \"n1\": no nodes are declared")
    }

    func testDuplicateAndBadNodeNames() {
        XCTAssertEqual(
            parseError("nodes:\n  - name: n1\n  - name: n1\n")?.description,
            "t.yaml:3: nodes[1].name: duplicate node \"n1\"")
        XCTAssertEqual(parseError("nodes: [{name: N1}]\n")?.field, "nodes[0].name")
        XCTAssertEqual(
            parseError("nodes: [{name: abcdefghijklm}]\n")?.message,
            "\"abcdefghijklm\" is not a DNS label of at most 12 characters")
        let many = (1...17).map { "{name: n\($0)}" }.joined(separator: ", ")
        XCTAssertEqual(parseError("nodes: [\(many)]\n")?.message, "at most 16 nodes")
    }

    func testTheAPIServerAddressIsReservedWithNodes() throws {
        let world = "world: [{name: k.example, addresses: [10.96.0.1]}]\n"
        XCTAssertEqual(
            parseError("nodes: [{name: n1}]\n" + world)?.message,
            "10.96.0.1 is the sandbox's API server when nodes are declared")
        XCTAssertEqual(try Topology.parse(yaml: world).world.count, 1)
    }
}
