import Datapath
import Flows
import Policy
import Proxy
import SluiceAPI
import XCTest

@testable import Agent

/// `sluice-agent`'s command line: defaults, both value forms, every kind of error naming the
/// option, and the HTTP/2 limits going through `HTTP2Limits.withOptions`.
final class AgentCommandLineTests: XCTestCase {
    private func options(_ arguments: [String], home: String? = "/srv/sluice") throws -> Agent.Options {
        switch try AgentCommandLine.parse(arguments, environment: { $0 == "SLUICE_HOME" ? home : nil }) {
        case .run(let options): return options
        case .help: XCTFail("help for \(arguments)"); throw AgentCommandLine.Failure(message: "help")
        }
    }

    private func failure(_ arguments: [String]) -> String {
        do {
            _ = try AgentCommandLine.parse(arguments, environment: { _ in nil })
            XCTFail("accepted \(arguments)")
            return ""
        } catch {
            return error.message
        }
    }

    func testDefaultsAreTheSandboxPaths() throws {
        let o = try options([])
        XCTAssertNil(o.netns)
        XCTAssertEqual(o.endpointsFile, "/run/sluice/sandbox/state.json")
        XCTAssertEqual(o.stateDirectory, "/run/sluice/state")
        XCTAssertEqual(o.controlSocket, "/run/sluice/agent.sock")
        XCTAssertEqual(o.bpfObjectDirectory, "/srv/sluice/bpf")
        XCTAssertEqual(o.pinDirectory, "/sys/fs/bpf/sluice")
        XCTAssertEqual(o.nodeName, "sluice-node")
        XCTAssertEqual(o.proxy.workers, ProxyConfig.cores)
        XCTAssertNil(o.proxy.pinFirstCPU)
        XCTAssertEqual(o.proxy.httpListenPort, 15001)
        XCTAssertTrue(o.proxy.recordFlows)
        XCTAssertEqual(o.proxy.connectTimeoutNs, 2_000_000_000)
        XCTAssertEqual(o.dns.listenPort, 15053)
        XCTAssertEqual(o.dns.rejectResponseCode, .refused)
        XCTAssertEqual(o.dns.fqdnResponseMaxDelayNs, 100_000_000)
        XCTAssertEqual(o.dns.fqdnMaxIPsPerName, 1000)
        XCTAssertEqual(o.policyDenyResponse, .none)
        XCTAssertEqual(o.allowLocalhost, .always)
        XCTAssertEqual(o.proxy.http2Limits, .default)
    }

    func testEveryOptionInBothForms() throws {
        let o = try options([
            "--netns", "sluice-node", "--endpoints=/e.json", "--state-dir", "/s", "--socket=/a.sock",
            "--bpf-dir", "/b", "--pin-dir=/sys/fs/bpf/sluice-n2", "--workers", "2", "--pin-cpu=1", "--http-port",
            "16001", "--no-flows",
            "--node-name", "n1", "--http-403-msg=Nope", "--connect-timeout-ms", "150",
            "--dns-reject-response-code", "nameError", "--fqdn-min-ttl", "3600", "--dns-listen-port=16053",
            "--fqdn-response-max-delay-ms", "0", "--fqdn-max-ips-per-name", "7", "--policy-deny-response", "icmp",
            "--http2-max-concurrent-streams", "10", "--http2-initial-stream-window-size=65535",
            "--allow-localhost", "policy",
        ])
        XCTAssertEqual(o.netns, "sluice-node")
        XCTAssertEqual(o.endpointsFile, "/e.json")
        XCTAssertEqual(o.stateDirectory, "/s")
        XCTAssertEqual(o.controlSocket, "/a.sock")
        XCTAssertEqual(o.bpfObjectDirectory, "/b")
        XCTAssertEqual(o.pinDirectory, "/sys/fs/bpf/sluice-n2")
        XCTAssertEqual(o.proxy.workers, 2)
        XCTAssertEqual(o.proxy.pinFirstCPU, 1)
        XCTAssertEqual(o.proxy.httpListenPort, 16001)
        XCTAssertFalse(o.proxy.recordFlows)
        XCTAssertEqual(o.nodeName, "n1")
        XCTAssertEqual(o.proxy.accessDeniedMessage, "Nope")
        XCTAssertEqual(o.proxy.connectTimeoutNs, 150_000_000)
        XCTAssertEqual(o.dns.rejectResponseCode, .nameError)
        XCTAssertEqual(o.dns.fqdnMinTTL, 3600)
        XCTAssertEqual(o.dns.listenPort, 16053)
        XCTAssertEqual(o.dns.fqdnResponseMaxDelayNs, 0)
        XCTAssertEqual(o.dns.fqdnMaxIPsPerName, 7)
        XCTAssertEqual(o.policyDenyResponse, .icmp)
        XCTAssertEqual(o.allowLocalhost, .policy)
        XCTAssertEqual(o.proxy.http2Limits.maxConcurrentStreams, 10)
        XCTAssertEqual(o.proxy.http2Limits.initialStreamWindow, 65535)
    }

    func testAllowLocalhostTakesCiliumsAuto() throws {
        XCTAssertEqual(try options(["--allow-localhost", "auto"]).allowLocalhost, .always)
        XCTAssertEqual(try options(["--allow-localhost=always"]).allowLocalhost, .always)
        XCTAssertEqual(
            failure(["--allow-localhost", "never"]), "--allow-localhost must be always, auto or policy, not 'never'")
    }

    func testCiliumSpellingAndTheOldSpellingOfThe403Body() throws {
        XCTAssertEqual(try options(["--http403-msg", "old"]).proxy.accessDeniedMessage, "old")
        XCTAssertEqual(try options(["--http-403-msg", "new"]).proxy.accessDeniedMessage, "new")
    }

    func testErrorsNameTheOption() {
        XCTAssertEqual(failure(["--wrokers", "2"]), "unknown option '--wrokers'")
        XCTAssertEqual(failure(["stray"]), "unexpected argument 'stray'")
        XCTAssertEqual(failure(["--workers"]), "missing value for '--workers <n>'")
        XCTAssertEqual(failure(["--workers", "two"]), "--workers: 'two' is not an integer in 1...1024")
        XCTAssertEqual(failure(["--workers", "0"]), "--workers: 0 is outside 1...1024")
        XCTAssertEqual(failure(["--http-port", "70000"]), "--http-port: '70000' is not an integer in 1...65535")
        XCTAssertEqual(failure(["--no-flows=yes"]), "--no-flows takes no value")
        XCTAssertEqual(failure(["--fqdn-max-ips-per-name", "0"]), "--fqdn-max-ips-per-name: 0 is outside 1...1000000")
        XCTAssertEqual(
            failure(["--policy-deny-response", "reset"]), "--policy-deny-response must be none or icmp, not 'reset'")
        XCTAssertEqual(
            failure(["--dns-reject-response-code", "nxdomain"]),
            "--dns-reject-response-code must be refused or nameError, not 'nxdomain'")
        XCTAssertTrue(failure(["--http2-max-concurrent-streams", "0"]).contains("--http2-max-concurrent-streams"))
        XCTAssertTrue(
            failure(["--http2-initial-stream-window-size", "100"]).contains("--http2-initial-stream-window-size"))
    }

    func testExportFilterListsGoToTheirOwnSideAndErrorsNameTheOption() throws {
        let both = try options([
            "--hubble-export-allowlist", #"{"verdict":["DROPPED"]}"#, "--hubble-export-denylist",
            #"{"verdict":["FORWARDED"]},{"verdict":["AUDIT"]}"#,
        ])
        func flow(_ verdict: Flow.Verdict) -> Flow {
            var flow = Flow()
            flow.verdict = verdict
            return flow
        }
        XCTAssertEqual(
            [.dropped, .forwarded, .audit].map { both.export.allow.matches(flow($0)) }, [true, false, false])
        XCTAssertEqual([.dropped, .forwarded, .audit].map { both.export.deny.matches(flow($0)) }, [false, true, true])
        XCTAssertTrue(try options([]).export.allow.isEmpty)
        let allow = failure(["--hubble-export-allowlist", "{"])
        XCTAssertTrue(allow.hasPrefix("--hubble-export-allowlist: "), allow)
        let deny = failure(["--hubble-export-denylist", #"{"verdict":"DROPPED"}"#])
        XCTAssertTrue(deny.hasPrefix("--hubble-export-denylist: "), deny)
    }

    func testHelpListsEveryOptionWithItsDefault() throws {
        guard case .help(let text) = try AgentCommandLine.parse(["--workers", "1", "--help"]) else {
            return XCTFail("no help")
        }
        for spec in AgentCommandLine.specs {
            XCTAssertTrue(text.contains(spec.name), spec.name)
        }
        XCTAssertTrue(text.contains("--fqdn-min-ttl <seconds>"))
        XCTAssertTrue(text.contains("(default: 15053)"))
        XCTAssertEqual(
            try {
                if case .help = try AgentCommandLine.parse(["-h"]) { return true }; return false
            }(), true)
    }

    func testWithoutHomeTheRepositoryIsFoundAboveTheExecutable() throws {
        // The test bundle lives under .build/ of this repository, which holds Package.swift.
        let dir = try options([], home: nil).bpfObjectDirectory
        XCTAssertTrue(dir.hasSuffix("/bpf"), dir)
        XCTAssertTrue(FileManagerless.exists(String(dir.dropLast(4)) + "/Package.swift"), dir)
    }
}

private enum FileManagerless {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
