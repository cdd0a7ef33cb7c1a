import Glibc
import Proxy
import XCTest

@testable import Agent

/// The open-file limit the agent raises at start, and the options that bound connections and
/// the control socket.
final class ProcessLimitsTests: XCTestCase {
    private let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    func testRaisesTheSoftOpenFileLimitToTheHardOne() throws {
        var saved = rlimit()
        XCTAssertEqual(getrlimit(resource, &saved), 0)
        defer { _ = setrlimit(resource, &saved) }
        guard saved.rlim_max > 64 else { return XCTFail("hard limit \(saved.rlim_max) too low to test") }
        var low = saved
        low.rlim_cur = 64
        XCTAssertEqual(setrlimit(resource, &low), 0)
        XCTAssertEqual(ProcessLimits.openFiles()?.soft, 64)
        XCTAssertEqual(ProcessLimits.raiseOpenFiles(), UInt64(saved.rlim_max))
        XCTAssertEqual(ProcessLimits.openFiles()?.soft, UInt64(saved.rlim_max))
        XCTAssertEqual(ProcessLimits.openFiles()?.hard, UInt64(saved.rlim_max))
        XCTAssertEqual(ProcessLimits.raiseOpenFiles(), UInt64(saved.rlim_max), "already raised: unchanged")
    }

    func testConnectionAndControlOptions() throws {
        guard case .run(let defaults) = try AgentCommandLine.parse([]) else { return XCTFail("no run") }
        XCTAssertNil(defaults.maxConnections, "from the open-file limit unless given")
        XCTAssertEqual(defaults.controlAccess, ControlAccess())
        XCTAssertEqual(defaults.controlClientTimeoutNs, 5_000_000_000)
        guard
            case .run(let o) = try AgentCommandLine.parse([
                "--max-connections", "100", "--control-group=root", "--control-timeout-ms", "250",
            ])
        else { return XCTFail("no run") }
        XCTAssertEqual(o.maxConnections, 100)
        XCTAssertEqual(o.controlAccess, ControlAccess(group: 0))
        XCTAssertEqual(o.controlClientTimeoutNs, 250_000_000)
        XCTAssertThrowsError(try AgentCommandLine.parse(["--max-connections", "0"])) {
            XCTAssertEqual("\($0)", "--max-connections: 0 is outside 1...10000000")
        }
        XCTAssertThrowsError(try AgentCommandLine.parse(["--control-group", "no-such-group-sluice"])) {
            XCTAssertEqual("\($0)", "--control-group: no group 'no-such-group-sluice'")
        }
        let help = AgentCommandLine.usage
        XCTAssertTrue(help.contains("--max-connections <n>"), help)
        XCTAssertTrue(help.contains("--control-group <group>"), help)
    }
}
