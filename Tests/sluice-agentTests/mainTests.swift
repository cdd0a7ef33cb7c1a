import SluiceTestSupport
import XCTest

/// The `sluice-agent` executable as built, run the way `sluice agent` and the sandbox run it:
/// help on stdout with status 0, an unknown option refused on stderr with the usage line and
/// status 64 (EX_USAGE) before anything starts. (Starting the agent itself is the integration
/// scenarios' job: it takes the node's datapath.)
final class SluiceAgentMainTests: XCTestCase {
    func testHelpIsPrintedWithStatusZero() throws {
        let result = try BuiltProduct.run("sluice-agent", ["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("USAGE: sluice-agent [options]"), result.stdout)
        XCTAssertTrue(result.stdout.contains("--netns"), "the options are listed")
        XCTAssertEqual(result.stderr, "")
    }

    func testAnUnknownOptionIsAUsageErrorBeforeAnythingStarts() throws {
        let result = try BuiltProduct.run("sluice-agent", ["--no-such-option"])
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(
            result.stderr, "Error: unknown option '--no-such-option'\nUsage: sluice-agent [options] (see --help)\n")
        XCTAssertEqual(result.stdout, "")
    }
}

extension SluiceAgentMainTests {
    /// A kubeconfig that cannot be read stops the agent before it touches anything, naming it.
    func testAnUnreadableKubeconfigStopsTheStart() throws {
        let result = try BuiltProduct.run(
            "sluice-agent", ["--k8s-kubeconfig", "/nonexistent/kubeconfig", "--socket", "/nonexistent/agent.sock"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.hasPrefix("Error: Kubernetes API (kubeconfig /nonexistent/kubeconfig): "), result.stderr)
        XCTAssertTrue(result.stderr.contains("/nonexistent/kubeconfig"), result.stderr)
    }
}
