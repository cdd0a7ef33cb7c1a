import Glibc
import Policy
import PolicyYAML
import Proxy
import SluiceAPI
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// The agent's read-only answers without a datapath: `introspect` shows the endpoints with the
/// enforcement the policy in force gives them, the policies and the proxies' state; `ct-list`
/// says the datapath is not loaded; the process counters read /proc.
final class AgentIntrospectionTests: XCTestCase {
    private var stateDirectory = ""

    override func setUpWithError() throws {
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        NodePolicyTests.removeTree(stateDirectory)
    }

    private func agent() throws -> Agent {
        let agent = NodePolicyTests.agentWithoutDatapath(in: stateDirectory, nodeName: "test-node")
        agent.policy.endpoints = TestPolicy.endpoints
        let yaml = TestPolicy.yaml(port: 80)
        let applied = agent.handle(
            ControlRequest(op: .apply, file: "p.yaml", documents: try PolicyYAML.documents(yaml, fileName: "p.yaml")))
        XCTAssertTrue(applied.ok, applied.message)
        return agent
    }

    func testIntrospectionShowsEnforcementPoliciesAndPorts() throws {
        let info = try agent().introspection()
        XCTAssertEqual(info.nodeName, "test-node")
        XCTAssertEqual(info.endpoints.map(\.id), [TestPolicy.backendID, TestPolicy.clientID])
        XCTAssertEqual(info.endpoints.map(\.ingressEnforcement), ["Enabled", "Disabled"])
        XCTAssertEqual(info.endpoints.map(\.egressEnforcement), ["Disabled", "Disabled"])
        XCTAssertEqual(info.endpoints.map(\.attached), [false, false], "no datapath, nothing attached")
        XCTAssertFalse(info.datapathAttached)
        XCTAssertEqual(info.policies, ["CiliumNetworkPolicy default/backend-http"])
        XCTAssertEqual(info.l7Ports, ["endpoint 3 INGRESS 80/TCP http"])
        XCTAssertEqual(info.dnsProxy, "not running")
        XCTAssertEqual(info.flowsSeen, 0)
        let endpointIdentities = Set(info.endpoints.map(\.identity))
        XCTAssertTrue(endpointIdentities.isSubset(of: Set(info.identities.map(\.identity))))
        XCTAssertEqual(info.endpoints[0].labels, info.endpoints[0].labels.sorted())
    }

    func testTheAnswersOnTheWire() throws {
        let agent = try agent()
        let answer = agent.introspect()
        XCTAssertTrue(answer.ok)
        let decoded = try JSON.decode(AgentIntrospection.self, from: answer.message)
        XCTAssertEqual(decoded.endpoints, agent.introspection().endpoints)
        XCTAssertEqual(decoded.policies, ["CiliumNetworkPolicy default/backend-http"])
        let conntrack = agent.conntrack()
        XCTAssertFalse(conntrack.ok)
        XCTAssertEqual(conntrack.message, "ct-list: the datapath is not loaded")
    }

    func testOpenFilesAndUptimeComeFromProc() throws {
        let before = Agent.openFileCount()
        XCTAssertGreaterThan(before, 2)
        let fd = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(Agent.openFileCount(), before + 1)
        close(fd)
        XCTAssertEqual(Agent.openFileCount(), before)
        let uptime = try String(contentsOfFile: "/proc/uptime", encoding: .utf8)
        let systemUp = try XCTUnwrap(Double(uptime.split(separator: " ")[0]))
        XCTAssertLessThanOrEqual(Agent.processUptimeSeconds(), UInt64(systemUp))
    }
}
