import Proxy
import SluiceAPI
import SluiceTestSupport
import XCTest

@testable import Agent

/// `flows-pause` and `flows-resume` through the agent's request handler (no datapath): the switch
/// the workers read, `sluice status`'s flows line, and the refusal under `--no-flows`.
final class AgentFlowsTests: XCTestCase {
    private var stateDirectory = ""

    override func setUpWithError() throws {
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        NodePolicyTests.removeTree(stateDirectory)
    }

    private func agent(recordFlows: Bool = true) -> Agent {
        var proxy = ProxyConfig()
        proxy.recordFlows = recordFlows
        return NodePolicyTests.agentWithoutDatapath(in: stateDirectory, proxy: proxy)
    }

    private func statusFlowsLine(_ agent: Agent) -> String? {
        IntrospectionText.status(agent.introspection()).first { $0.hasPrefix("Flows:") }
    }

    func testPauseAndResumeMoveTheWorkersSwitchAndTheStatusLine() {
        let agent = agent()
        XCTAssertTrue(agent.flowRecording.isOn)
        XCTAssertNil(agent.introspection().flowsPaused)

        let paused = agent.handle(ControlRequest(op: .flowsPause))
        XCTAssertTrue(paused.ok, paused.message)
        XCTAssertEqual(paused.message, "flow recording paused")
        XCTAssertFalse(agent.flowRecording.isOn)
        XCTAssertEqual(agent.introspection().flowsPaused, true)
        XCTAssertEqual(statusFlowsLine(agent), "Flows:            Paused   Current/Max Flows: 0/4096, Flows seen: 0")

        XCTAssertTrue(agent.handle(ControlRequest(op: .flowsPause)).ok, "pausing twice is no error")
        XCTAssertFalse(agent.flowRecording.isOn)

        let resumed = agent.handle(ControlRequest(op: .flowsResume))
        XCTAssertTrue(resumed.ok, resumed.message)
        XCTAssertEqual(resumed.message, "flow recording resumed")
        XCTAssertTrue(agent.flowRecording.isOn)
        XCTAssertNil(agent.introspection().flowsPaused)
        XCTAssertEqual(statusFlowsLine(agent), "Flows:            Ok   Current/Max Flows: 0/4096, Flows seen: 0")
    }

    func testWithoutFlowsBothAreRefusedAndNothingMoves() {
        let agent = agent(recordFlows: false)
        for op in [ControlOperation.flowsResume, .flowsPause] {
            let answer = agent.handle(ControlRequest(op: op))
            XCTAssertFalse(answer.ok)
            XCTAssertEqual(
                answer.message,
                "flow recording is off: the agent runs with --no-flows (restart it without to record flows)")
        }
        XCTAssertTrue(agent.flowRecording.isOn, "the switch is left alone; there is no sink behind it")
    }
}
