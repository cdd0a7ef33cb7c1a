import SluiceAPI
import XCTest

@testable import Sandbox

/// The fake API server's wiring in a multi-node sandbox (the processes themselves run in
/// integration/scenarios/90_kube_*.sh).
final class SandboxManagerKubeAPITests: XCTestCase {
    private func twoNodeState() throws -> SandboxState {
        let topology = try Topology.parse(
            yaml: """
                nodes: [{name: n1}, {name: n2}]
                namespaces: [{name: shop, labels: {team: shop}}]
                pods: [{name: a, namespace: shop, labels: {app: a}}, {name: b, namespace: shop, node: n2}]
                """)
        return try SandboxPlan(topology: topology).initialState(stateDirectory: "/s")
    }

    func testServerArgumentsNameItsFilesTheSandboxAddressAndTheCRDs() {
        let manager = SandboxManager(stateDirectory: "/s")
        let argv = manager.kubeAPIArguments(python: "/py", fakeAPI: "/k", repoRoot: "/r")
        XCTAssertEqual(
            Array(argv.prefix(6)),
            ["/py", "/k/fakeapi/server.py", "--dir", "/s/kubeapi", "--kubeconfig", "/s/kubeconfig"])
        XCTAssertTrue(argv.contains("IP:10.96.0.1"))
        XCTAssertTrue(argv.contains("/r/deploy/cilium-crds/policies.yaml"))
        XCTAssertTrue(argv.contains("/r/deploy/01-sluice-identity-crd.yaml"))
        XCTAssertEqual(manager.nodeKubeconfigPath, "/s/kubeconfig-nodes")
    }

    func testTheNodesKubeconfigPointsAtTheSandboxAddress() {
        let text = "clusters:\n- cluster:\n    server: https://127.0.0.1:40123\n    certificate-authority-data: QQ==\n"
        let out = SandboxManager.nodeKubeconfig(text, serverURL: "https://127.0.0.1:40123")
        XCTAssertTrue(out.contains("server: https://10.96.0.1:443\n"))
        XCTAssertTrue(out.contains("certificate-authority-data: QQ=="))
        XCTAssertFalse(out.contains("127.0.0.1"))
    }

    func testRegistrationHasNamespacesAndPodsWithTheirNodes() throws {
        let objects = SandboxManager.registrationObjects(try twoNodeState())
        let namespaces = try XCTUnwrap(objects["namespaces"] as? [[String: Any]])
        XCTAssertEqual(namespaces.map { $0["name"] as? String }, ["shop", "default", "kube-system"])
        XCTAssertEqual((namespaces[0]["labels"] as? [String: String])?["team"], "shop")
        let pods = try XCTUnwrap(objects["pods"] as? [[String: Any]])
        XCTAssertEqual(pods.map { $0["name"] as? String }, ["kube-dns", "a", "b"])
        XCTAssertEqual(pods.map { $0["node"] as? String }, ["n1", "n1", "n2"])
        XCTAssertEqual(pods.map { $0["hostIP"] as? String }, ["10.244.0.1", "10.244.0.1", "10.244.0.2"])
        XCTAssertEqual(pods.map { $0["ip"] as? String }, ["10.244.1.10", "10.244.1.11", "10.244.2.10"])
        XCTAssertEqual((pods[1]["labels"] as? [String: String])?["app"], "a")
    }

    func testExecReachesEitherNode() throws {
        let state = try twoNodeState()
        XCTAssertEqual(SandboxManager.namespace(of: "shop/b", in: state), "sluice-shop-b")
        XCTAssertEqual(SandboxManager.namespace(of: "node", in: state), "sluice-node")
        XCTAssertEqual(SandboxManager.namespace(of: "node/n2", in: state), "sluice-node_n2")
        XCTAssertEqual(SandboxManager.namespace(of: "node/n1", in: state), "sluice-node")
        XCTAssertNil(SandboxManager.namespace(of: "node/n3", in: state))
    }

    func testStartingWithoutTheFakeSaysWhatIsMissing() throws {
        let directory = NSTemporaryDirectory() + "kubeapi-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var state = try twoNodeState()
        let manager = SandboxManager(stateDirectory: directory)
        XCTAssertThrowsError(
            try manager.startKubeAPI(
                python: "/nonexistent/python", fakeAPI: "/nonexistent", repoRoot: "/", state: &state)
        ) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/python"), "\(error)")
            XCTAssertTrue("\(error)".contains("--fake-api"), "\(error)")
        }
    }
}
