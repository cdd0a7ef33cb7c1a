import Foundation
import Glibc
import SluiceAPI
import XCTest

@testable import sluice

/// `sluice sandbox`'s own logic that needs no sandbox (up, down and the agents run in the
/// integration scenarios): the agent arguments it passes on, where each node's agent logs, and how
/// it stops a process it started.
final class SandboxCommandTests: XCTestCase {
    func testAgentArgumentsKeepTheirOrder() throws {
        let none = try SandboxCommand.AgentArguments.parse([])
        XCTAssertEqual(none.arguments(), [])
        XCTAssertEqual(none.arguments(["--no-flows"]), ["--no-flows"])
        let all = try SandboxCommand.AgentArguments.parse([
            "--agent-arg=--http2-max-concurrent-streams=10", "--workers", "2", "--policy-deny-response", "icmp",
            "--agent-arg=--access-log",
        ])
        XCTAssertEqual(
            all.arguments(["--pin-cpu", "1"]),
            [
                "--workers", "2", "--policy-deny-response", "icmp", "--pin-cpu", "1",
                "--http2-max-concurrent-streams=10", "--access-log",
            ])
        XCTAssertThrowsError(try SandboxCommand.AgentArguments.parse(["--workers", "two"]))
        // A value that looks like an option needs the `=` form (the help's example uses it).
        XCTAssertThrowsError(try SandboxCommand.AgentArguments.parse(["--agent-arg", "--access-log"]))
    }

    func testTheFirstNodeLogsAsTheSingleNode() {
        func node(_ name: String, pins: String) -> SandboxState.Node {
            SandboxState.Node(
                name: name, netns: "", ip: "", podCIDR: "", endpointsFile: "", pinDirectory: pins, controlSocket: "",
                stateDirectory: "")
        }
        XCTAssertEqual(
            SandboxLifecycle.agentLog(node("n1", pins: Paths.pinDirectory)), "/run/sluice/sandbox/logs/agent.log")
        XCTAssertEqual(
            SandboxLifecycle.agentLog(node("n2", pins: Paths.pinDirectory + "-n2")),
            "/run/sluice/sandbox/logs/agent-n2.log")
    }

    private func spawn(_ argv: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var cargs = argv.map { strdup($0) }
        cargs.append(nil)
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], nil, nil, cargs, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return pid
    }

    /// Polls until `condition` holds, up to 10 s.
    private func eventually(_ what: String, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            if Date() > deadline { return XCTFail("not within 10 s: " + what) }
            usleep(10_000)
        }
    }

    func testIsZombieReadsTheProcessState() throws {
        XCTAssertFalse(SandboxLifecycle.isZombie(getpid()))
        let pid = try spawn(["/bin/true"])
        // It exits at once and stays a zombie until reaped.
        eventually("/bin/true becomes a zombie") { SandboxLifecycle.isZombie(pid) }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        // Gone altogether: no /proc entry counts as stopped too.
        XCTAssertTrue(SandboxLifecycle.isZombie(pid))
    }

    func testStopProcessEndsAndReapsTheProcess() throws {
        let pid = try spawn(["/bin/sleep", "30"])
        XCTAssertFalse(SandboxLifecycle.isZombie(pid))
        SandboxLifecycle.stopProcess(pid)
        // Stopped: reaped by stopProcess, or a zombie it saw (reaped here).
        XCTAssertTrue(SandboxLifecycle.isZombie(pid))
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        XCTAssertEqual(kill(pid, 0), -1)
        // A PID that is not running is left alone.
        SandboxLifecycle.stopProcess(pid)
    }

    func testTheKubeAPIWithoutAClientIsAnError() {
        let api = SandboxState.KubeAPI(kubeconfig: "k", nodeKubeconfig: "n", control: "c", pid: 1, forwarderPID: nil)
        XCTAssertThrowsError(try SandboxKubeAPI.run(api, verb: "apply", file: "f.yaml")) {
            XCTAssertEqual("\($0)", "the sandbox's API server has no client recorded")
        }
    }
}
