import SluiceAPI
import XCTest

/// `SandboxState` lookups: `namespace/pod` targets as the CLI's `sluice sandbox exec` takes them.
final class SandboxStateTests: XCTestCase {
    private func endpoint(_ id: Int, _ namespace: String, _ pod: String) -> SandboxState.Endpoint {
        .init(id: id, namespace: namespace, pod: pod, podLabels: [:], ipv4: "10.0.0.\(id)")
    }

    private var state: SandboxState {
        SandboxState(
            nodeNetns: "sluice-node", nodeIP: "", dnsIP: "", namespaces: [],
            endpoints: [endpoint(1, "default", "web"), endpoint(2, "backend", "web"), endpoint(3, "a/b", "c")],
            worldNetns: nil, world: [], servers: [], agentPID: nil)
    }

    func testATargetIsNamespaceSlashPodAndABarePodIsInDefault() {
        XCTAssertEqual(state.endpoint(target: "web")?.id, 1)
        XCTAssertEqual(state.endpoint(target: "default/web")?.id, 1)
        XCTAssertEqual(state.endpoint(target: "backend/web")?.id, 2)
        XCTAssertNil(state.endpoint(target: "frontend/web"))
        XCTAssertNil(state.endpoint(target: "backend"))
        XCTAssertNil(state.endpoint(target: "/web"), "an empty namespace is not default")
        XCTAssertNil(state.endpoint(target: "a/b/c"), "the pod is everything after the first slash")
        XCTAssertNil(state.endpoint(target: ""))
    }
}
