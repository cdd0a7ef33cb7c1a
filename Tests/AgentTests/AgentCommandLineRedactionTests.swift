import Flows
import XCTest

@testable import Agent

/// The agent's Hubble redaction options (`--hubble-redact-*`, also without the `hubble-` prefix).
final class AgentCommandLineRedactionTests: XCTestCase {
    private func parse(_ arguments: [String]) throws -> Agent.Options {
        guard case .run(let options) = try AgentCommandLine.parse(arguments, environment: { _ in "/srv" }) else {
            throw AgentCommandLine.Failure(message: "help")
        }
        return options
    }

    func testOptionsFillTheRedaction() throws {
        XCTAssertEqual(try parse([]).redaction, FlowRedaction())
        let o = try parse([
            "--hubble-redact-enabled", "--hubble-redact-http-urlquery", "--redact-http-userinfo",
            "--hubble-redact-http-headers-deny=Authorization,Cookie", "--hubble-redact-kafka-apikey",
        ])
        XCTAssertTrue(o.redaction.enabled && o.redaction.urlQuery && o.redaction.userInfo && o.redaction.kafkaAPIKey)
        XCTAssertEqual(o.redaction.headersDeny, ["authorization", "cookie"])
        XCTAssertTrue(o.redaction.cutsQuery && o.redaction.masksPassword)
        XCTAssertFalse(
            try parse(["--hubble-redact-http-urlquery"]).redaction.cutsQuery, "needs --hubble-redact-enabled")
    }

    func testBadListsAreRefused() {
        for arguments in [
            ["--hubble-redact-http-headers-allow", "a,,b"],
            ["--hubble-redact-http-headers-allow", "a", "--hubble-redact-http-headers-deny", "b"],
        ] {
            XCTAssertThrowsError(try parse(arguments), "\(arguments)")
        }
    }
}
