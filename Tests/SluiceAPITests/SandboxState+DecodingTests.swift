import SluiceAPI
import SluiceJSON
import XCTest

/// `SandboxState` as the agent reads it with SluiceJSON: the sandbox's full file (the CLI's
/// side is in AgentTests' StateFileCodecTests) and the hand-written endpoint files of tests and
/// other set-ups, where everything but the endpoints' identity, labels and address may be absent.
final class SandboxStateDecodingTests: XCTestCase {
    func testAMinimalEndpointsFileDecodesWithDefaults() throws {
        let text =
            #"{"endpoints": [{"id": 3, "namespace": "default", "pod": "backend", "podLabels": {"app": "backend"}, "ipv4": "10.0.0.3"}]}"#
        let state = try JSON.decode(SandboxState.self, from: Array(text.utf8))
        XCTAssertEqual(
            state.endpoints,
            [
                SandboxState.Endpoint(
                    id: 3, namespace: "default", pod: "backend",
                    podLabels: ["app": "backend"], ipv4: "10.0.0.3")
            ])
        let e = state.endpoints[0]
        XCTAssertEqual(e.serviceAccount, "default")
        XCTAssertEqual(e.hostIfIndex, 0)
        XCTAssertEqual(e.namespaceLabels, [:])
        XCTAssertEqual(e.namedPorts, [])
        XCTAssertEqual(state.nodeIP, "", "no node address")
        XCTAssertEqual(state.world, [])
        XCTAssertNil(state.agentPID)
    }

    func testEndpointsWithoutTheirRequiredKeysAreRejected() {
        for text in [
            #"{}"#, #"{"endpoints": [{"id": 3, "namespace": "default", "pod": "b", "ipv4": "10.0.0.3"}]}"#,
            #"{"endpoints": [{"id": 3, "namespace": "default", "pod": "b", "podLabels": {}}]}"#,
        ] {
            XCTAssertThrowsError(try JSON.decode(SandboxState.self, from: Array(text.utf8)), text)
        }
    }

    func testAWrittenStateReadsBackEqual() throws {
        let state = SandboxState(
            nodeNetns: "sluice-node", nodeIP: "10.244.0.1", dnsIP: "10.244.0.10",
            namespaces: [.init(name: "default", labels: ["kubernetes.io/metadata.name": "default"])],
            endpoints: [
                .init(
                    id: 1, namespace: "default", pod: "web", podLabels: ["app": "web"],
                    namespaceLabels: ["kubernetes.io/metadata.name": "default"], ipv4: "10.244.1.11",
                    netns: "sluice-default-web", hostIfName: "lxc0", hostIfIndex: 12, serviceAccount: "sa",
                    namedPorts: [NamedPort(name: "http", port: 80)])
            ],
            worldNetns: "sluice-world",
            world: [.init(name: "api", addresses: ["192.0.2.1"], ttl: 60, kubeAPIServer: true)],
            servers: [.init(owner: "default/web", kind: "http-static", port: 80, pid: 9, logPath: "/l", marker: "m")],
            agentPID: 42)
        XCTAssertEqual(try JSON.decode(SandboxState.self, from: try JSON.encode(state)), state)
    }
}
