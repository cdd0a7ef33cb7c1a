import HTTP1
import Proxy
import SluiceAPI
import XCTest

@testable import Agent

/// The HTTP/1 hardening options of `sluice-agent`: underscore-header action and head limits.
final class AgentCommandLineHTTPTests: XCTestCase {
    private func options(_ arguments: [String]) throws -> Agent.Options {
        switch try AgentCommandLine.parse(arguments, environment: { _ in nil }) {
        case .run(let options): return options
        case .help: throw AgentCommandLine.Failure(message: "help")
        }
    }

    private func failure(_ arguments: [String]) -> String {
        do {
            _ = try AgentCommandLine.parse(arguments, environment: { _ in nil })
            return "accepted"
        } catch {
            return error.message
        }
    }

    func testDefaultsAreEnvoysLimitsAndRejectingUnderscores() throws {
        let o = try options([])
        XCTAssertEqual(o.proxy.headersWithUnderscores, .rejectRequest)
        XCTAssertEqual(o.proxy.httpLimits.maxHeadBytes, 61440)
        XCTAssertEqual(o.proxy.httpLimits.maxHeaderCount, 100)
        XCTAssertEqual(o.proxy.httpLimits.maxTargetBytes, 8192)
    }

    func testOptionsSetTheConfig() throws {
        let o = try options([
            "--http-headers-with-underscores", "drop-header", "--http-max-request-headers-kb=32",
            "--http-max-headers-count", "50", "--http-max-request-target-kb", "4",
        ])
        XCTAssertEqual(o.proxy.headersWithUnderscores, .dropHeader)
        XCTAssertEqual(o.proxy.httpLimits.maxHeadBytes, 32768)
        XCTAssertEqual(o.proxy.httpLimits.maxHeaderCount, 50)
        XCTAssertEqual(o.proxy.httpLimits.maxTargetBytes, 4096)
        XCTAssertEqual(try options(["--http-headers-with-underscores=allow"]).proxy.headersWithUnderscores, .allow)
    }

    func testTimeoutDefaultsAndOptions() throws {
        let d = try options([])
        XCTAssertEqual(d.proxy.requestHeadTimeoutNs, 10_000_000_000)
        XCTAssertEqual(d.proxy.idleTimeoutNs, 3_600_000_000_000)
        XCTAssertEqual(d.proxy.requestTimeoutNs, 15_000_000_000)
        XCTAssertEqual(d.proxy.tunnelIdleTimeoutNs, 300_000_000_000)
        XCTAssertEqual(d.proxy.connectTimeoutNs, 2_000_000_000)
        XCTAssertEqual(d.proxy.bodyIdleTimeoutNs, 300_000_000_000)
        XCTAssertEqual(try options(["--http-body-idle-timeout-ms=1200"]).proxy.bodyIdleTimeoutNs, 1_200_000_000)
        XCTAssertTrue(failure(["--http-body-idle-timeout-ms", "-5"]).hasPrefix("--http-body-idle-timeout-ms:"))
        let o = try options([
            "--http-request-head-timeout-ms=1500", "--http-idle-timeout-ms", "0",
            "--http-response-timeout-ms=2500", "--http-tunnel-idle-timeout-ms", "700",
        ])
        XCTAssertEqual(o.proxy.requestHeadTimeoutNs, 1_500_000_000)
        XCTAssertEqual(o.proxy.idleTimeoutNs, 0)
        XCTAssertEqual(o.proxy.requestTimeoutNs, 2_500_000_000)
        XCTAssertEqual(o.proxy.tunnelIdleTimeoutNs, 700_000_000)
        XCTAssertTrue(failure(["--http-request-head-timeout-ms", "0"]).hasPrefix("--http-request-head-timeout-ms:"))
        XCTAssertTrue(failure(["--http-response-timeout-ms", "-1"]).hasPrefix("--http-response-timeout-ms:"))
    }

    func testBadValuesNameTheOption() {
        XCTAssertEqual(
            failure(["--http-headers-with-underscores", "drop"]),
            "--http-headers-with-underscores must be allow, reject-request or drop-header, not 'drop'")
        XCTAssertTrue(failure(["--http-max-headers-count", "0"]).hasPrefix("--http-max-headers-count:"))
        XCTAssertTrue(failure(["--http-max-request-headers-kb", "x"]).hasPrefix("--http-max-request-headers-kb:"))
    }

    func testHelpListsTheOptions() throws {
        guard case .help(let text) = try AgentCommandLine.parse(["--help"], environment: { _ in nil }) else {
            return XCTFail("no help")
        }
        for name in [
            "--http-headers-with-underscores", "--http-max-request-headers-kb", "--http-max-headers-count",
            "--http-max-request-target-kb", "--http-request-head-timeout-ms", "--http-idle-timeout-ms",
            "--http-response-timeout-ms", "--http-tunnel-idle-timeout-ms", "--http-body-idle-timeout-ms",
        ] {
            XCTAssertTrue(text.contains(name), name)
        }
    }

    func testHTTP2MinimumProgressOption() throws {
        XCTAssertEqual(try options([]).proxy.http2Limits.streamMinProgressBytes, 16384)
        XCTAssertEqual(
            try options(["--http2-stream-min-progress-bytes=1"]).proxy.http2Limits.streamMinProgressBytes, 1)
        XCTAssertEqual(
            failure(["--http2-stream-min-progress-bytes", "0"]),
            "--http2-stream-min-progress-bytes must be 1 to 2147483647")
    }

    func testDNSOverTCPLimitOptions() throws {
        let d = try options([])
        XCTAssertEqual(d.dns.tcpIdleTimeoutNs, 10_000_000_000)
        XCTAssertEqual(d.dns.tcpMaxQueriesInFlight, 128)
        XCTAssertEqual(d.dns.tcpMaxBufferedBytes, 65536)
        XCTAssertEqual(d.dns.tcpMaxConnections, 4096)
        let o = try options([
            "--dns-tcp-idle-timeout-ms=2500", "--dns-tcp-max-queries-in-flight", "4",
            "--dns-tcp-max-buffered-bytes=0", "--dns-tcp-max-connections", "16",
        ])
        XCTAssertEqual(o.dns.tcpIdleTimeoutNs, 2_500_000_000)
        XCTAssertEqual(o.dns.tcpMaxQueriesInFlight, 4)
        XCTAssertEqual(o.dns.tcpMaxBufferedBytes, 0)
        XCTAssertEqual(o.dns.tcpMaxConnections, 16)
        for bad in [
            ["--dns-tcp-idle-timeout-ms", "0"], ["--dns-tcp-max-queries-in-flight", "0"],
            ["--dns-tcp-max-buffered-bytes", "-1"], ["--dns-tcp-max-connections", "0"],
        ] {
            XCTAssertTrue(failure(bad).hasPrefix(bad[0] + ":"), failure(bad))
        }
    }

    func testDNSGatherWindow() throws {
        XCTAssertEqual(try options([]).dns.udpGatherWindowNs, 0, "off unless asked for")
        XCTAssertEqual(try options(["--dns-gather-us=0"]).dns.udpGatherWindowNs, 0, "off")
        XCTAssertEqual(try options(["--dns-gather-us=100"]).dns.udpGatherWindowNs, 100_000)
        XCTAssertEqual(try options(["--dns-gather-us", "250"]).dns.udpGatherWindowNs, 250_000)
        let bad = ["--dns-gather-us", "10001"]
        XCTAssertTrue(failure(bad).hasPrefix(bad[0] + ":"), failure(bad))
    }
}
