import SluiceAPI
import SluiceModel
import XCTest

@testable import Sandbox

final class SandboxManagerTests: XCTestCase {
    private func state() throws -> SandboxState {
        try SandboxPlan(topology: Topology(pods: [PodSpec(name: "client")])).initialState()
    }

    func testExecArguments() throws {
        let arguments = try SandboxManager.execArguments(
            state: state(), target: "client", command: ["curl", "-s", "x"])
        XCTAssertEqual(Array(arguments.dropFirst()), ["netns", "exec", "sluice-default-client", "curl", "-s", "x"])
        XCTAssertTrue(arguments[0].hasSuffix("ip"))
        let shell = try SandboxManager.execArguments(state: state(), target: "default/client", command: [])
        XCTAssertEqual(shell.last, "bash")
    }

    func testExecInTheNodeAndTheWorld() throws {
        var state = try SandboxPlan(
            topology: Topology(
                pods: [PodSpec(name: "client")],
                world: [
                    WorldSpec(
                        name: "in.example.com",
                        addresses: [try XCTUnwrap(IPv4Address("192.0.2.10"))])
                ])
        )
        .initialState()
        XCTAssertEqual(
            try SandboxManager.execArguments(state: state, target: "node", command: ["true"])[3], "sluice-node")
        XCTAssertEqual(
            try SandboxManager.execArguments(state: state, target: "world/in.example.com", command: ["true"])[3],
            "sluice-world")
        XCTAssertThrowsError(try SandboxManager.execArguments(state: state, target: "world/other", command: ["true"]))
        state.worldNetns = nil
        XCTAssertThrowsError(
            try SandboxManager.execArguments(
                state: state, target: "world/in.example.com",
                command: ["true"]))
    }

    func testExecUnknownTarget() throws {
        XCTAssertThrowsError(try SandboxManager.execArguments(state: state(), target: "x/y", command: ["true"])) {
            error in
            XCTAssertTrue("\(error)".contains("no pod \"x/y\""))
        }
    }

    func testCommandFailureNamesCommandAndStderr() {
        XCTAssertThrowsError(try CommandRunner.run(["sh", "-c", "echo oops >&2; exit 3"])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("exit 3"), text)
            XCTAssertTrue(text.contains("sh -c"), text)
            XCTAssertTrue(text.hasSuffix(": oops"), text)
        }
        XCTAssertEqual(try CommandRunner.run(["sh", "-c", "echo hi"]), "hi\n")
    }
}
