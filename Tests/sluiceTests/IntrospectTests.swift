import Flows
import Foundation
import Glibc
import SluiceAPI
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import sluice

/// `sluice status`, `version`, `endpoint list`, `identity list` and `fqdn cache list` as built,
/// against an agent's control socket that answers `introspect` with a known state (a Unix socket
/// served by this test with the agent's wire format: one JSON request, one JSON answer), and
/// against no agent at all.
final class IntrospectTests: XCTestCase {
    /// `--socket` is one option group (`AgentSocket`) shared by the commands that only ask the
    /// agent: its default, and a value reaching each command.
    func testAgentCommandsShareTheSocketOption() throws {
        XCTAssertEqual(try Status.parse([]).agent.socket, Paths.controlSocket)
        XCTAssertEqual(try Version.parse(["--socket", "/x.sock"]).agent.socket, "/x.sock")
        XCTAssertEqual(try EndpointCommand.List.parse(["--socket", "/e.sock"]).agent.socket, "/e.sock")
        XCTAssertEqual(try IdentityCommand.List.parse(["--socket", "/i.sock"]).agent.socket, "/i.sock")
        XCTAssertEqual(try BPFCommand.CT.List.parse(["--socket", "/c.sock"]).agent.socket, "/c.sock")
        XCTAssertThrowsError(try Status.parse(["--socket"]))
    }

    private var directory = ""
    private var socketPath = ""
    private var listener: Int32 = -1
    private var server: Thread?
    /// Signalled when the server thread has returned.
    private let serverEnded = DispatchSemaphore(value: 0)

    static let info = AgentIntrospection(
        version: "9.9.9-test", uptimeSeconds: 3723, nodeName: "node-a", datapathAttached: true,
        endpoints: [
            .init(
                .init(
                    id: 1001, namespace: "default", pod: "client", ipv4: "10.200.0.11", identity: 30001,
                    labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"]),
                ingressEnforcement: "Disabled", egressEnforcement: "Enabled", attached: true)
        ],
        identities: [
            .init(identity: 2, labels: ["reserved:world"]), .init(identity: 30001, labels: ["k8s:app=client"]),
        ],
        policies: ["CiliumNetworkPolicy default/allow-client"], l7Ports: ["80/TCP"], proxyWorkers: 2, flowsSeen: 7,
        flowRingSize: 4096, dnsProxy: "off", lastApply: nil)

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sluice-introspect-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/agent.sock"
    }

    override func tearDown() {
        if listener >= 0 {
            // A blocked accept wakes, a later one fails (EINVAL); the descriptor is closed only
            // once the thread has returned, so a late thread cannot accept on the same number
            // reopened by the next test's listener (as in ProxyTests' UpstreamServer.stop).
            shutdown(listener, Int32(SHUT_RDWR))
            if server != nil { serverEnded.wait() }
            close(listener)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Serves the control socket: every request gets `answer(request op)`.
    private func serve(_ answer: @escaping (String) -> ControlResponse) throws {
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        var addr = try ControlSocket.address(socketPath)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))
        XCTAssertEqual(listen(listener, 8), 0)
        let fd = listener
        let ended = serverEnded
        let thread = Thread {
            defer { ended.signal() }
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                let request = ControlSocket.readAll(client)
                let op = (try? JSON.decode(ControlRequest.self, from: request)).map { "\($0.op)" } ?? "unreadable"
                if let bytes = try? JSON.encode(answer(op)) { ControlSocket.writeAll(client, bytes) }
                close(client)
            }
        }
        thread.start()
        server = thread
    }

    private func servingIntrospection() throws {
        let json = String(decoding: try JSON.encode(Self.info), as: UTF8.self)
        try serve { op in
            op == "introspect"
                ? .success(json) : .failure("unexpected \(op)")
        }
    }

    private func run(_ arguments: [String]) throws -> BuiltProduct.Result {
        try BuiltProduct.run("sluice", arguments + ["--socket", socketPath])
    }

    func testStatusPrintsTheAgentsState() throws {
        try servingIntrospection()
        let result = try run(["status"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, IntrospectionText.status(Self.info))
        XCTAssertEqual(lines.first, "Sluice:           Ok   9.9.9-test (agent up 1h2m3s)")
        XCTAssertTrue(lines.contains("Node:             node-a"), result.stdout)
        XCTAssertTrue(lines.contains("  CiliumNetworkPolicy default/allow-client"), result.stdout)

        let json = try run(["status", "-o", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(try JSON.decode(AgentIntrospection.self, from: Array(json.stdout.utf8)), Self.info)
        let bad = try run(["status", "-o", "yaml"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("invalid output format: yaml (text, json)"), bad.stderr)
    }

    func testEndpointAndIdentityLists() throws {
        try servingIntrospection()
        let endpoints = try run(["endpoint", "list"])
        XCTAssertEqual(endpoints.status, 0, endpoints.stderr)
        XCTAssertEqual(endpoints.stdout.split(separator: "\n").map(String.init), IntrospectionText.endpoints(Self.info))
        XCTAssertTrue(endpoints.stdout.contains("10.200.0.11"), endpoints.stdout)
        let json = try run(["endpoint", "list", "-o", "json"])
        XCTAssertEqual(
            try JSON.decode([AgentIntrospection.Endpoint].self, from: Array(json.stdout.utf8)), Self.info.endpoints)
        let identities = try run(["identity", "list"])
        XCTAssertEqual(identities.status, 0, identities.stderr)
        XCTAssertEqual(
            identities.stdout.split(separator: "\n").map(String.init), IntrospectionText.identities(Self.info))
        XCTAssertTrue(identities.stdout.contains("reserved:world"), identities.stdout)
    }

    func testVersionNamesTheClientAndTheAgent() throws {
        try servingIntrospection()
        let result = try run(["version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "Client: \(SluiceVersion.current)\nAgent:  9.9.9-test\n")
    }

    func testWithoutAnAgentStatusSaysUnreachableAndVersionStillAnswers() throws {
        let status = try run(["status"])
        XCTAssertEqual(status.status, 1)
        XCTAssertTrue(
            status.stdout.hasPrefix("Sluice:   Unreachable   cannot reach the agent at \(socketPath)"), status.stdout)
        let version = try run(["version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout, "Client: \(SluiceVersion.current)\nAgent:  not reachable at \(socketPath)\n")
    }

    func testAnAgentThatRefusesIsReported() throws {
        try serve { _ in .failure("permission denied: uid 1000") }
        let result = try run(["endpoint", "list"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("permission denied: uid 1000"), result.stderr)
    }

    func testFQDNCacheListReadsTheAgentsCacheFile() throws {
        let file = directory + "/fqdn.json"
        let cache = FQDNCacheFile(names: [
            "api.example.com.": [
                "192.0.2.10": .init(expiresNs: 1_785_578_700_000_000_000, lastSeenNs: 1_785_578_400_000_000_000)
            ]
        ])
        try Data(try JSON.encode(cache)).write(to: URL(fileURLWithPath: file))
        let result = try BuiltProduct.run("sluice", ["fqdn", "cache", "list", "--file", file])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, result.stdout)
        XCTAssertEqual(
            lines.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init),
            ["all", "lookup", "api.example.com.", "300", "2026-08-01T10:05:00.000Z", "192.0.2.10"])
        let none = try BuiltProduct.run("sluice", ["fqdn", "cache", "list", "--file", directory + "/missing.json"])
        XCTAssertEqual(none.status, 0)
        XCTAssertEqual(none.stdout.split(separator: "\n").count, 1, "the header only: \(none.stdout)")
    }
}
