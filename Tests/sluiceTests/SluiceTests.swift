import Flows
import Foundation
import SluiceTestSupport
import XCTest

/// The `sluice` command as built, run as a user runs it, without an agent or a sandbox: the
/// version, `sluice agent` handing over to `sluice-agent`, usage errors (status 64), and `apply`
/// checking its file and YAML on the client before it needs the agent.
final class SluiceTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sluice-cli-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testVersion() throws {
        let result = try BuiltProduct.run("sluice", ["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, SluiceVersion.current + "\n")
    }

    func testAgentHandsOverToTheAgentExecutable() throws {
        let result = try BuiltProduct.run("sluice", ["agent", "--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("USAGE: sluice-agent [options]"), result.stdout)
        let refused = try BuiltProduct.run("sluice", ["agent", "--no-such-option"])
        XCTAssertEqual(refused.status, 64, "sluice-agent's own status")
        XCTAssertTrue(refused.stderr.contains("unknown option '--no-such-option'"), refused.stderr)
    }

    func testAnUnknownCommandIsAUsageError() throws {
        let result = try BuiltProduct.run("sluice", ["no-such-command"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("Unexpected argument 'no-such-command'"), result.stderr)
    }

    func testFlowsPauseAndResumeAskTheAgent() throws {
        let help = try BuiltProduct.run("sluice", ["flows", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("pause") && help.stdout.contains("resume"), help.stdout)
        let socket = directory + "/no-agent.sock"
        for verb in ["pause", "resume"] {
            let result = try BuiltProduct.run("sluice", ["flows", verb, "--socket", socket])
            XCTAssertNotEqual(result.status, 0, "no agent at \(socket)")
            XCTAssertTrue(result.stderr.contains(socket), result.stderr)
        }
    }

    func testApplyChecksTheFileAndItsYAMLBeforeItNeedsTheAgent() throws {
        let socket = directory + "/no-agent.sock"
        let missing = try BuiltProduct.run("sluice", ["apply", "-f", directory + "/missing.yaml", "--socket", socket])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("cannot read \(directory)/missing.yaml"), missing.stderr)

        let bad = try file("bad.yaml", "apiVersion: cilium.io/v2\nkind: [\n")
        let syntax = try BuiltProduct.run("sluice", ["apply", "-f", bad, "--socket", socket])
        XCTAssertEqual(syntax.status, 1)
        XCTAssertTrue(syntax.stderr.hasPrefix("error: \(bad):3:1: "), "file, line and column: \(syntax.stderr)")

        let good = try file(
            "good.yaml",
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: b}\n"
                + "spec: {endpointSelector: {}}\n")
        let noAgent = try BuiltProduct.run("sluice", ["apply", "-f", good, "--socket", socket])
        XCTAssertNotEqual(noAgent.status, 0)
        XCTAssertTrue(noAgent.stderr.contains("cannot reach the agent at \(socket)"), noAgent.stderr)
    }
}
