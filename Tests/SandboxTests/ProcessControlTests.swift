import Foundation
import XCTest

@testable import Sandbox

/// isRunning / commandLine / stop on a child this test starts (by its pid only).
final class ProcessControlTests: XCTestCase {
    private func startSleeper() throws -> Int32 {
        try CommandRunner.spawn(["sleep", "30"], logPath: "/dev/null")
    }

    func testARunningChildIsSeenAndStoppedOnlyWhenItsCommandLineMatches() throws {
        let pid = try startSleeper()
        defer {
            if ProcessControl.isRunning(pid) {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        XCTAssertTrue(ProcessControl.isRunning(pid))
        // Between fork and exec the child's command line is still this test's: wait for the exec.
        XCTAssertTrue(Self.poll { ProcessControl.commandLine(of: pid, contains: "sleep 30") })
        XCTAssertFalse(ProcessControl.commandLine(of: pid, contains: "httpbin"))
        ProcessControl.stop([(pid: pid, marker: "httpbin")])
        XCTAssertTrue(ProcessControl.isRunning(pid), "a pid whose command line does not match is left alone")
        ProcessControl.stop([(pid: pid, marker: "sleep 30")])
        XCTAssertFalse(ProcessControl.isRunning(pid))
    }

    /// Whether `condition` holds within five seconds, checked every millisecond.
    private static func poll(_ condition: () -> Bool) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = now.tv_sec + 5
        while !condition() {
            clock_gettime(CLOCK_MONOTONIC, &now)
            if now.tv_sec >= deadline { return false }
            usleep(1000)
        }
        return true
    }

    func testNonsensePidsAreNotRunning() {
        XCTAssertFalse(ProcessControl.isRunning(0))
        XCTAssertFalse(ProcessControl.isRunning(-1))
        XCTAssertFalse(ProcessControl.commandLine(of: 0, contains: ""))
    }
}
