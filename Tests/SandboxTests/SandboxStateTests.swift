import SluiceAPI
import XCTest

@testable import Sandbox

final class SandboxStateTests: XCTestCase {
    private func state() throws -> SandboxState {
        try SandboxPlan(
            topology: Topology(
                namespaces: [NamespaceSpec(name: "backend")],
                pods: [
                    PodSpec(name: "backend", namespace: "backend"),
                    PodSpec(name: "client"),
                ])
        ).initialState()
    }

    func testEndpointLookup() throws {
        let state = try state()
        XCTAssertEqual(state.endpoint(target: "backend/backend")?.ipv4, "10.244.1.11")
        XCTAssertEqual(state.endpoint(target: "client")?.namespace, "default")
        XCTAssertEqual(state.endpoint(target: "default/client")?.pod, "client")
        XCTAssertEqual(state.endpoint(target: "kube-system/kube-dns")?.id, 1)
        XCTAssertNil(state.endpoint(target: "backend"))
        XCTAssertNil(state.endpoint(target: "x/backend"))
    }

    func testJSONRoundTrip() throws {
        var state = try state()
        state.agentPID = 42
        state.servers = [.init(owner: "backend/backend", kind: "httpbin", port: 80, pid: 7, logPath: "/l", marker: "m")]
        let data = try JSONEncoder().encode(state)
        XCTAssertEqual(try JSONDecoder().decode(SandboxState.self, from: data), state)
    }
}
