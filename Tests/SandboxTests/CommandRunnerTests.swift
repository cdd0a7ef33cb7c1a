import Foundation
import XCTest

@testable import Sandbox

/// Real child processes (sh, echo): output, exit status and stderr in the error, spawn with its
/// own session and its output in the log file.
final class CommandRunnerTests: XCTestCase {
    func testRunReturnsStandardOutput() throws {
        XCTAssertEqual(try CommandRunner.run(["echo", "hello", "world"]), "hello world\n")
        XCTAssertEqual(try CommandRunner.run([]), "")
    }

    func testAFailureCarriesStatusAndStandardError() {
        XCTAssertThrowsError(try CommandRunner.run(["sh", "-c", "echo out; echo oops >&2; exit 3"])) {
            XCTAssertEqual(
                ($0 as? SandboxError)?.description,
                "command failed (exit 3): sh -c echo out; echo oops >&2; exit 3: oops")
        }
        XCTAssertThrowsError(try CommandRunner.run(["sh", "-c", "kill -9 $$"])) {
            XCTAssertTrue(($0 as? SandboxError)?.description.hasPrefix("command failed (exit 137)") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try CommandRunner.run(["/nonexistent/tool"])) {
            XCTAssertTrue(($0 as? SandboxError)?.description.hasPrefix("command failed (exit -1)") ?? false, "\($0)")
        }
    }

    func testLocateFindsProgramsOnThePathAndKeepsPaths() {
        let sh = CommandRunner.locate("sh")
        XCTAssertTrue(sh.hasPrefix("/"), sh)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: sh))
        XCTAssertEqual(CommandRunner.locate("/opt/x/tool"), "/opt/x/tool")
        XCTAssertEqual(CommandRunner.locate("no-such-program-anywhere"), "no-such-program-anywhere")
    }

    func testSpawnLeadsItsOwnSessionAndLogsToTheFile() throws {
        let log = "/tmp/sluice-spawn-test-\(getpid()).log"
        defer { unlink(log) }
        let pid = try CommandRunner.spawn(
            ["sh", "-c", "echo spawned; echo err >&2; cut -d' ' -f6 /proc/$$/stat"], logPath: log)
        XCTAssertGreaterThan(pid, 0)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual(status, 0)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(text, "spawned\nerr\n\(pid)\n", "stdout and stderr in the log; the session is the child's own")
        XCTAssertThrowsError(try CommandRunner.spawn([], logPath: log)) {
            XCTAssertEqual(($0 as? SandboxError), SandboxError.cannotStart([], errno: EINVAL))
        }
    }
}
