import XCTest

@testable import Sandbox

final class SandboxErrorTests: XCTestCase {
    private struct Plain: Error, CustomStringConvertible {
        let description: String
    }

    func testDescriptions() {
        XCTAssertEqual(
            SandboxError.commandFailed(["ip", "link", "add"], status: 2, stderr: "RTNETLINK answers: File exists")
                .description,
            "command failed (exit 2): ip link add: RTNETLINK answers: File exists")
        XCTAssertEqual(
            SandboxError.commandFailed(["true"], status: 1, stderr: "").description, "command failed (exit 1): true")
        XCTAssertEqual(
            SandboxError.cannotStart(["curl", "-s"], errno: 2).description, "cannot start curl (errno 2): curl -s")
        XCTAssertEqual(
            SandboxError.serverNotReady(
                owner: "default/web", kind: "http", port: 80, reason: "did not listen", logTail: ""
            )
            .description,
            "server http:80 of default/web did not listen")
        XCTAssertEqual(
            SandboxError.serverNotReady(owner: "w", kind: "dns", port: 53, reason: "exited", logTail: "boom")
                .description,
            "server dns:53 of w exited\n--- last lines of its log ---\nboom")
        XCTAssertTrue(SandboxError.unknownTarget("nope").description.hasPrefix("no pod \"nope\" in the sandbox"))
        XCTAssertEqual(SandboxError.io(path: "/run/x", reason: "denied").description, "/run/x: denied")
        XCTAssertEqual(
            SandboxError.badState(path: "/run/s.json", reason: "bad").description,
            "/run/s.json: unreadable sandbox state: bad")
        XCTAssertEqual(
            SandboxError.addressSpaceExhausted(pods: 70000).description, "70000 pods do not fit in 10.244.0.0/16")
        XCTAssertEqual(
            SandboxError.teardown(original: Plain(description: "first"), cleanup: Plain(description: "second"))
                .description,
            "first\n(cleaning up after it also failed: second)")
        XCTAssertEqual(
            SandboxError.cleanupIncomplete(["netns a", "veth b"]).description,
            "sandbox not fully removed:\nnetns a\nveth b")
    }

    func testEqualityFollowsTheCaseAndItsValues() {
        XCTAssertEqual(SandboxError.unknownTarget("a"), .unknownTarget("a"))
        XCTAssertNotEqual(SandboxError.unknownTarget("a"), .unknownTarget("b"))
        XCTAssertNotEqual(SandboxError.io(path: "a", reason: "b"), .badState(path: "a", reason: "b"))
    }
}
