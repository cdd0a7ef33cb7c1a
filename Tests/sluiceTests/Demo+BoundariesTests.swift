import Foundation
import Sandbox
import SluiceAPI
import XCTest

@testable import sluice

/// Act 2 of `sluice demo` (the blog's L3/L4 steps): its table against the repository's files. The
/// checks themselves run in a sandbox (integration scenarios).
final class DemoBoundariesTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testEveryAppliedFileIsAPolicyTheCLIAccepts() throws {
        let files = Demo.steps.flatMap { $0.files }
        XCTAssertEqual(files.count, 6)
        XCTAssertTrue(Demo.steps[0].files.isEmpty, "the first step is the baseline without policy")
        for file in files {
            let path = root + "/proxy-config/examples/blog/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let request = try ControlRequest.apply(file: path, yamlText: text)
            XCTAssertEqual(request.op, .apply, file)
            XCTAssertFalse(request.documents?.isEmpty ?? true, file)
        }
    }

    func testEveryCheckRunsInAPodOfTheBlogTopology() throws {
        let topology = try Topology.load(path: root + "/proxy-config/sandbox/blog.yaml")
        let pods = Set(topology.pods.map { $0.namespace + "/" + $0.name })
        for step in Demo.steps {
            XCTAssertFalse(step.checks.isEmpty, step.title)
            for check in step.checks {
                XCTAssertTrue(pods.contains(check.pod), "\(check.pod) in \(step.title)")
            }
        }
    }

    func testChecksUseShortTimeoutsAndExpectWhatTheirScriptCanPrint() {
        let curl = Demo.curl("frontend/test", "/h", "404")
        XCTAssertEqual(curl.title, "curl -sI http://api.backend.svc.cluster.local/h")
        XCTAssertTrue(curl.script.contains(" -m 2 "), curl.script)
        let nc = Demo.nc("backend/app", "open")
        XCTAssertTrue(nc.script.hasPrefix("nc -z -w 2 postgres.db.svc.cluster.local 5432 "), nc.script)
        let dig = Demo.dig("frontend/test", "no answer")
        XCTAssertTrue(dig.script.contains("+time=1 +tries=1"), dig.script)
        for check in Demo.steps.flatMap({ $0.checks }) {
            if check.script.hasPrefix("curl") {
                XCTAssertTrue(["000", "200", "403", "404"].contains(check.expected), check.title)
            } else if check.script.hasPrefix("nc") {
                XCTAssertTrue(["open", "closed"].contains(check.expected), check.title)
            } else {
                XCTAssertTrue(check.script.hasPrefix("dig"), check.script)
                XCTAssertTrue(["10.96.0.1", "no answer"].contains(check.expected), check.title)
            }
        }
    }

    /// The nc check's shell logic, run here against loopback: `open` when something listens.
    func testNCScriptPrintsOpenOrClosed() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(listener, 1), 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let script = Demo.nc("p", "open").script.replacingOccurrences(
            of: Demo.postgres + " 5432", with: "127.0.0.1 \(port)")
        XCTAssertEqual(Demo.capture(["/bin/sh", "-c", script]), "open\n")
        close(listener)
        XCTAssertEqual(Demo.capture(["/bin/sh", "-c", script]), "closed\n")
    }
}
