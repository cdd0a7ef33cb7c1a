import XCTest

@testable import Agent

/// The Kubernetes options: a kubeconfig, in-cluster explicitly or from `KUBERNETES_SERVICE_HOST`,
/// the node name defaulting to the host name only with the API, and what excludes what.
final class KubernetesSourceTests: XCTestCase {
    private func options(_ arguments: [String], environment: [String: String] = [:]) throws -> Agent.Options {
        switch try AgentCommandLine.parse(arguments, environment: { environment[$0] }) {
        case .run(let options): return options
        case .help: throw AgentCommandLine.Failure(message: "help")
        }
    }

    func testWithoutTheOptionsTheAgentHasNoAPIAndTheSandboxNodeName() throws {
        let o = try options([])
        XCTAssertNil(o.kubernetes)
        XCTAssertEqual(o.nodeName, "sluice-node")
    }

    func testAKubeconfigAndTheHostNameAsNodeName() throws {
        let o = try options(["--k8s-kubeconfig", "/run/sluice/sandbox/kubeconfig"])
        XCTAssertEqual(o.kubernetes, .kubeconfig("/run/sluice/sandbox/kubeconfig"))
        XCTAssertEqual(o.nodeName, AgentCommandLine.hostName())
        XCTAssertFalse(o.nodeName.isEmpty)
        XCTAssertEqual(try options(["--k8s-kubeconfig=/k", "--node-name", "n2"]).nodeName, "n2")
    }

    func testInClusterExplicitlyOrFromTheEnvironment() throws {
        XCTAssertEqual(try options(["--k8s-in-cluster"]).kubernetes, .inCluster)
        XCTAssertEqual(try options([], environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1"]).kubernetes, .inCluster)
        XCTAssertNil(try options([], environment: ["KUBERNETES_SERVICE_HOST": ""]).kubernetes)
        // A kubeconfig given wins over the environment.
        XCTAssertEqual(
            try options(["--k8s-kubeconfig", "/k"], environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1"]).kubernetes,
            .kubeconfig("/k"))
    }

    func testErrorsNameTheOptions() {
        XCTAssertThrowsError(try options(["--k8s-kubeconfig", "/k", "--k8s-in-cluster"])) {
            XCTAssertEqual("\($0)", "--k8s-kubeconfig and --k8s-in-cluster exclude each other")
        }
        XCTAssertThrowsError(try options(["--k8s-kubeconfig="])) {
            XCTAssertEqual("\($0)", "--k8s-kubeconfig: empty path")
        }
        XCTAssertThrowsError(try options(["--k8s-in-cluster=yes"])) {
            XCTAssertEqual("\($0)", "--k8s-in-cluster takes no value")
        }
    }

    func testInClusterLoadNamesWhatIsMissing() {
        XCTAssertThrowsError(try KubernetesSource.inCluster.load(environment: { _ in nil })) {
            XCTAssertTrue("\($0)".contains("KUBERNETES_SERVICE_HOST"), "\($0)")
        }
        XCTAssertThrowsError(try KubernetesSource.kubeconfig("/nonexistent/kubeconfig").load(environment: { _ in nil }))
        {
            XCTAssertTrue("\($0)".contains("/nonexistent/kubeconfig"), "\($0)")
        }
    }
}
