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

    func testSaveAndReadStateAtomically() throws {
        let directory = NSTemporaryDirectory() + "sandbox-state-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manager = SandboxManager(stateDirectory: directory)
        XCTAssertNil(try manager.state())
        var state = try state()
        state.agentPID = 99
        try manager.save(state)
        XCTAssertEqual(try manager.state(), state)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/state.json.tmp"))
        let text = try String(contentsOfFile: directory + "/state.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"agentPID\" : 99"))
    }

    func testCorruptStateIsAnError() throws {
        let directory = NSTemporaryDirectory() + "sandbox-bad-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/state.json", contents: Data("{".utf8)))
        XCTAssertThrowsError(try SandboxManager(stateDirectory: directory).state()) { error in
            XCTAssertTrue("\(error)".contains("unreadable sandbox state"))
        }
    }

    func testParseInterfaceIndex() {
        XCTAssertEqual(SandboxManager.parseInterfaceIndex("12: lxc1a2b3c4d@if2: <BROADCAST> mtu 1500"), 12)
        XCTAssertNil(SandboxManager.parseInterfaceIndex("garbage"))
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
