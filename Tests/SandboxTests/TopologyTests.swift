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
}
