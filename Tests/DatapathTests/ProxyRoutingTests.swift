import Glibc
import SluiceTestSupport
import XCTest

@testable import Datapath

/// The proxy's policy routing and hairpin sysctls, installed in a network namespace of the
/// test's own (`NetnsThread`; `ip` runs there too): the fwmark rule at Cilium's priority, the
/// local default route of table 2004, both sysctls, and a second install adding nothing.
final class ProxyRoutingTests: XCTestCase {
    private func ip() throws -> String {
        try XCTUnwrap(Datapath.ipCommandCandidates.first { access($0, X_OK) == 0 }, "no ip command")
    }

    private func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    func testInstallIsIdempotentAndAllInTheCallersNamespace() throws {
        let ip = try ip()
        let (rules, routes, sysctls) = try NetnsThread.run { () throws -> (String, String, [String]) in
            _ = try Datapath.run(ip, ["link", "set", "lo", "up"])
            try Datapath.installProxyRouting()
            try Datapath.installProxyRouting()
            let rules = try Datapath.run(ip, ["-4", "rule", "show"]).output
            let routes = try Datapath.run(ip, ["-4", "route", "show", "table", "2004"]).output
            return (rules, routes, Datapath.hairpinSysctls.map { self.read($0.0) })
        }
        let proxyRules = rules.split(separator: "\n").filter { $0.contains("lookup 2004") }
        XCTAssertEqual(proxyRules, ["9:\tfrom all fwmark 0x200/0xf00 lookup 2004"], rules)
        XCTAssertEqual(routes.trimmingCharacters(in: .whitespaces), "local default dev lo scope host")
        XCTAssertEqual(sysctls, ["1", "0"])
    }

    func testRunReturnsTheExitStatusAndBothOutputs() throws {
        let result = try Datapath.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.output, "out\nerr")
        XCTAssertThrowsError(try Datapath.run("/no/such/binary", [])) {
            XCTAssertTrue("\($0)".contains("/no/such/binary"), "\($0)")
        }
    }

    func testWriteSysctlNamesThePathItCannotOpen() {
        XCTAssertThrowsError(try Datapath.writeSysctl("/proc/sys/net/ipv4/no_such_sysctl", "1")) {
            XCTAssertTrue("\($0)".contains("/proc/sys/net/ipv4/no_such_sysctl"), "\($0)")
        }
    }
}
