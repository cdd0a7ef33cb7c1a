import Flows
import XCTest

@testable import Agent

/// `--hubble-export-fieldmask`: Hubble's paths fill the exporter's mask; a path naming no flow
/// field stops the start with an error naming the path.
final class AgentCommandLineFieldMaskTests: XCTestCase {
    private func parse(_ arguments: [String]) throws -> Agent.Options {
        guard case .run(let options) = try AgentCommandLine.parse(arguments, environment: { _ in "/srv" }) else {
            throw AgentCommandLine.Failure(message: "help")
        }
        return options
    }

    func testMaskFillsTheExportConfig() throws {
        XCTAssertFalse(try parse([]).export.fieldMask.isActive, "no mask: every field")
        let o = try parse(["--hubble-export-fieldmask=time,source.namespace,verdict,l7.http"])
        XCTAssertEqual(o.export.fieldMask.paths, [["time"], ["source", "namespace"], ["verdict"], ["l7", "http"]])
        // The agent's redaction lists are kept as bytes for the request path, equal to a parse.
        var r = FlowRedaction()
        r.enabled = true
        r.headersDeny = ["authorization"]
        XCTAssertEqual(
            try parse(["--hubble-redact-enabled", "--hubble-redact-http-headers-deny", "Authorization"]).redaction, r)
    }

    func testBadPathIsAnErrorNamingIt() {
        XCTAssertThrowsError(try parse(["--hubble-export-fieldmask", "time,nonsense"])) { error in
            XCTAssertTrue("\(error)".contains("nonsense"), "\(error)")
        }
    }
}
