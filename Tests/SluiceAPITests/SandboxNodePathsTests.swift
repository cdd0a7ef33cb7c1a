import SluiceAPI
import XCTest

final class SandboxNodePathsTests: XCTestCase {
    func testTheFirstNodeUsesTheAgentDefaults() {
        let paths = SandboxNodePaths(name: "n1", first: true)
        XCTAssertEqual(paths.pinDirectory, AgentPaths.pinDirectory)
        XCTAssertEqual(paths.controlSocket, AgentPaths.controlSocket)
        XCTAssertEqual(paths.stateDirectory, AgentPaths.stateDirectory)
    }

    func testOtherNodesHaveTheirOwnPinsSocketAndState() {
        let paths = SandboxNodePaths(name: "n2", first: false)
        XCTAssertEqual(paths.pinDirectory, "/sys/fs/bpf/sluice-n2")
        XCTAssertEqual(paths.controlSocket, "/run/sluice/nodes/n2/agent.sock")
        XCTAssertEqual(paths.stateDirectory, "/run/sluice/nodes/n2/state")
    }

    func testLookupByName() {
        XCTAssertEqual(
            SandboxNodePaths.lookup("n2", nodeNames: ["n1", "n2"]), SandboxNodePaths(name: "n2", first: false))
        XCTAssertEqual(
            SandboxNodePaths.lookup("n1", nodeNames: ["n1", "n2"]), SandboxNodePaths(name: "n1", first: true))
        XCTAssertNil(SandboxNodePaths.lookup("n3", nodeNames: ["n1", "n2"]))
        XCTAssertNil(SandboxNodePaths.lookup("n1", nodeNames: []))
    }
}
