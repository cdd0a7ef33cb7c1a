import SluiceAPI
import SluiceModel
import XCTest

@testable import Sandbox

final class TopologyTests: XCTestCase {
    private func parseError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> TopologyError? {
        do {
            _ = try Topology.parse(yaml: yaml, file: "t.yaml")
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testParsesIssueExample() throws {
        let topology = try Topology.parse(
            yaml: """
                namespaces:
                  - name: backend
                    labels: {name: backend}
                pods:
                  - name: backend
                    namespace: backend
                    labels: {app: backend}
                    servers: ["httpbin:80", "tcp:6379"]
                  - name: client
                """)
        XCTAssertEqual(topology.namespaces, [NamespaceSpec(name: "backend", labels: ["name": "backend"])])
        XCTAssertEqual(topology.pods.count, 2)
        XCTAssertEqual(
            topology.pods[0].servers, [ServerSpec(kind: .httpbin, port: 80), ServerSpec(kind: .tcp, port: 6379)])
        XCTAssertEqual(topology.pods[1].namespace, "default")
        XCTAssertEqual(topology.pods[1].serviceAccount, "default")
        XCTAssertEqual(topology.world, [])
    }

    func testParsesWorldAndNamedPorts() throws {
        let topology = try Topology.parse(
            yaml: """
                pods:
                  - name: web
                    namedPorts: [{name: http, port: 80}]
                world:
                  - name: api.example.com
                    addresses: [192.0.2.10, 192.0.2.11]
                    servers: ["http-static:80"]
                    ttl: 60
                  - name: b.example.org
                    addresses: [198.51.100.1]
                """)
        XCTAssertEqual(topology.pods[0].namedPorts, [NamedPort(name: "http", port: 80, protocol: "TCP")])
        XCTAssertEqual(
            topology.world[0],
            WorldSpec(
                name: "api.example.com",
                addresses: [IPv4Address(192, 0, 2, 10), IPv4Address(192, 0, 2, 11)],
                servers: [ServerSpec(kind: .httpStatic, port: 80)], ttl: 60))
        XCTAssertEqual(topology.world[1].ttl, WorldSpec.defaultTTL)
    }

    func testLoadsTheTutorialTopology() throws {
        let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
        let topology = try Topology.load(path: repo.appendingPathComponent("proxy-config/sandbox/tutorial.yaml").path)
        XCTAssertEqual(
            topology.pods.map { "\($0.namespace)/\($0.name)" },
            ["frontend/frontend", "backend/backend", "database/db", "default/client"])
        XCTAssertEqual(topology.pods[2].labels, ["app": "database"])
    }

    func testEmptyDocumentIsEmptyTopology() throws {
        XCTAssertEqual(try Topology.parse(yaml: ""), Topology())
    }

    func testUnknownServerKindNamesFileLineAndField() {
        let error = parseError(
            """
            pods:
              - name: a
                servers:
                  - "tcp:80"
                  - "nginx:80"
            """)
        XCTAssertEqual(error?.file, "t.yaml")
        XCTAssertEqual(error?.field, "pods[0].servers[1]")
        XCTAssertEqual(error?.line, 5)
        XCTAssertTrue(error?.message.contains("unknown server kind \"nginx\"") ?? false, "\(String(describing: error))")
        XCTAssertTrue(error?.description.hasPrefix("t.yaml:5: pods[0].servers[1]: ") ?? false)
    }

    func testBadPort() {
        let error = parseError("pods:\n  - name: a\n    servers: [\"tcp:70000\"]\n")
        XCTAssertEqual(error?.field, "pods[0].servers[0]")
        XCTAssertTrue(error?.message.contains("bad port") ?? false)
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

    func testMissingField() {
        let error = parseError("pods:\n  - namespace: default\n")
        XCTAssertEqual(error?.field, "pods[0].name")
        XCTAssertEqual(error?.message, "missing field")
        XCTAssertEqual(error?.line, 2)
    }

    func testWrongType() {
        let error = parseError("pods:\n  - name: a\n    labels: [x]\n")
        XCTAssertEqual(error?.field, "pods[0].labels")
        XCTAssertNotNil(error?.line)
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
    }

    func testInvalidYAML() {
        let error = parseError("pods: [\n")
        XCTAssertTrue(error?.message.hasPrefix("invalid YAML") ?? false)
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Topology.load(path: "/nonexistent/topology.yaml")) { error in
            XCTAssertEqual((error as? TopologyError)?.file, "/nonexistent/topology.yaml")
        }
    }
}
