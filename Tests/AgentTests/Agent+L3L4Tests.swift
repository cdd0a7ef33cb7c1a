import Policy
import Proxy
import SluiceTestSupport
import XCTest

@testable import Agent
@testable import Datapath

/// The agent's attach step in a network namespace of the test's own (`NetnsThread`), on its
/// `lo`: both programs go on every endpoint's host-side interface (to-endpoint on egress, the
/// endpoint program on ingress); endpoints without an interface are left alone.
final class AgentL3L4Tests: XCTestCase {
    private var pinDirectory = ""
    private var datapath: Datapath!
    private var stateDirectory = ""

    override func setUpWithError() throws {
        stateDirectory = try NodePolicyTests.temporaryDirectory()
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        datapath = try Datapath.open(objectDirectory: NodePolicyTests.bpfDirectory(), pinDirectory: pinDirectory)
    }

    override func tearDown() {
        datapath?.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
        NodePolicyTests.removeTree(stateDirectory)
    }

    /// `tc filter show dev lo DIRECTION` in the calling thread's namespace.
    private static func filters(_ direction: String) throws -> String {
        let candidates: [String] = ["/usr/sbin/tc", "/sbin/tc"]
        let tc = try XCTUnwrap(candidates.first { access($0, X_OK) == 0 }, "no tc command")
        return try Datapath.run(tc, ["filter", "show", "dev", "lo", direction]).output
    }

    func testBothProgramsGoOnEveryEndpointsInterface() throws {
        let agent = Agent(
            options: Agent.Options(
                netns: nil, endpointsFile: stateDirectory + "/endpoints.json",
                stateDirectory: stateDirectory + "/state", controlSocket: stateDirectory + "/agent.sock",
                bpfObjectDirectory: NodePolicyTests.bpfDirectory(), pinDirectory: pinDirectory, nodeName: "test",
                proxy: ProxyConfig()))
        agent.policy.endpoints = TestPolicy.endpoints
        // The backend's interface is lo (ifindex 1); the client's is not known yet (0).
        agent.ifindexes = [TestPolicy.backendID: 1, TestPolicy.clientID: 0]
        let datapath = self.datapath!
        let (before, ingress, egress) = try NetnsThread.run { () throws -> (String, String, String) in
            let before = try Self.filters("ingress") + Self.filters("egress")
            try agent.attachPrograms(datapath)
            return (before, try Self.filters("ingress"), try Self.filters("egress"))
        }
        XCTAssertFalse(before.contains("handle 0x51c"), before)
        XCTAssertTrue(ingress.contains("handle 0x51c"), "the endpoint program on ingress: \(ingress)")
        XCTAssertTrue(egress.contains("handle 0x51c"), "the to-endpoint program on egress: \(egress)")
        XCTAssertTrue(ingress.contains("sluice_tc_endpo"), ingress)
        XCTAssertTrue(egress.contains("sluice_tc_to_en"), egress)
    }
}
