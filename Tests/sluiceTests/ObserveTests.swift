import Foundation
import SluiceTestSupport
import XCTest

/// `sluice observe` as built, reading exported JSON lines (`--input-file`, no flow map, no agent):
/// the same selection, filters and output formats as on a node. The three flows are Hubble JSON as
/// `-o json` writes it: an allowed HTTP request, a DNS answer and a policy drop.
final class ObserveTests: XCTestCase {
    private var directory = ""
    private var input = ""

    static let lines = [
        #"{"flow":{"time":"2026-08-01T10:00:00.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":80}},"source":{"ID":1203,"identity":11231,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f"},"destination":{"ID":877,"identity":22411,"namespace":"default","labels":["k8s:app=server","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"server-5c6b"},"Type":"L7","node_name":"kind-worker","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://server.default/public","protocol":"HTTP/1.1","headers":[{"key":"X-Request-Id","value":"4c1e"}]}},"event_type":{"type":129},"traffic_direction":"INGRESS","is_reply":false,"Summary":"HTTP/1.1 GET http://server.default/public"},"node_name":"kind-worker","time":"2026-08-01T10:00:00.123456789Z"}"#,
        #"{"flow":{"time":"2026-08-01T10:00:01.000000001Z","verdict":"FORWARDED","IP":{"source":"10.0.0.91","destination":"10.0.1.23","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":51515}},"source":{"identity":48125,"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns"],"pod_name":"coredns-6f6b"},"destination":{"ID":1203,"identity":11231,"namespace":"default","labels":["k8s:app=client"],"pod_name":"client-7d9f"},"Type":"L7","node_name":"kind-worker","l7":{"type":"RESPONSE","dns":{"query":"cilium.io.","ips":["104.198.14.52"],"ttl":300,"observation_source":"proxy","qtypes":["A"],"rrtypes":["A"]}},"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":true,"Summary":"DNS Answer \"104.198.14.52\" TTL: 300 (Proxy cilium.io. A)"},"node_name":"kind-worker","time":"2026-08-01T10:00:01.000000001Z"}"#,
        #"{"flow":{"time":"2026-08-01T10:00:02.500Z","verdict":"DROPPED","drop_reason":133,"IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43212,"destination_port":8080,"flags":{"SYN":true}}},"source":{"identity":11231,"namespace":"default","labels":["k8s:app=client"],"pod_name":"client-7d9f"},"destination":{"ID":877,"identity":22411,"namespace":"default","labels":["k8s:app=server"],"pod_name":"server-5c6b"},"Type":"L3_L4","node_name":"kind-worker","event_type":{"type":1,"sub_type":133},"traffic_direction":"INGRESS","drop_reason_desc":"POLICY_DENIED","Summary":"TCP Flags: SYN"},"node_name":"kind-worker","time":"2026-08-01T10:00:02.500Z"}"#,
    ]

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sluice-observe-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        input = directory + "/flows.json"
        // A line that is not a flow (a lost-events record) is skipped, as the exporter may write one.
        let text =
            Self.lines[0] + "\n" + #"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":3}}"#
            + "\n" + Self.lines[1] + "\n" + Self.lines[2] + "\n"
        try text.write(toFile: input, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `sluice observe --input-file FLOWS arguments...` and returns its non-empty output lines.
    private func observe(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let result = try BuiltProduct.run("sluice", ["observe", "--input-file", input] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return result.stdout.split(separator: "\n").map(String.init)
    }

    func testJSONOutputGivesBackEveryFlowAsItWasExported() throws {
        XCTAssertEqual(try observe(["--all", "-o", "json"]), Self.lines)
    }

    func testFiltersSelectAsOnANode() throws {
        let drops = try observe(["--verdict", "DROPPED", "-o", "json"])
        XCTAssertEqual(drops, [Self.lines[2]])
        XCTAssertEqual(try observe(["--not", "--verdict", "DROPPED", "-o", "json"]), Array(Self.lines[0..<2]))
        XCTAssertEqual(try observe(["--protocol", "dns", "-o", "json"]), [Self.lines[1]])
        XCTAssertEqual(try observe(["--from-pod", "kube-system/coredns", "-o", "json"]), [Self.lines[1]])
        XCTAssertEqual(try observe(["--http-method", "GET", "--to-port", "80", "-o", "json"]), [Self.lines[0]])
        XCTAssertEqual(try observe(["--http-method", "POST", "-o", "json"]), [])
    }

    func testSelectionByCountAndTime() throws {
        XCTAssertEqual(try observe(["--last", "1", "-o", "json"]), [Self.lines[2]])
        XCTAssertEqual(try observe(["--first", "2", "-o", "json"]), Array(Self.lines[0..<2]))
        XCTAssertEqual(
            try observe(["--since", "2026-08-01T10:00:00.5Z", "--until", "2026-08-01T10:00:02Z", "-o", "json"]),
            [Self.lines[1]])
    }

    func testCompactAndTableOutputAreHubblesLines() throws {
        XCTAssertEqual(
            try observe(["--time-format", "RFC3339", "--print-node-name"]),
            [
                "2026-08-01T10:00:00Z [kind-worker]: default/client-7d9f:43210 (ID:11231) -> default/server-5c6b:80 (ID:22411) http-request FORWARDED (HTTP/1.1 GET http://server.default/public)",
                #"2026-08-01T10:00:01Z [kind-worker]: default/client-7d9f:51515 (ID:11231) <- kube-system/coredns-6f6b:53 (ID:48125) dns-response proxy FORWARDED (DNS Answer "104.198.14.52" TTL: 300 (Proxy cilium.io. A))"#,
                "2026-08-01T10:00:02Z [kind-worker]: default/client-7d9f:43212 (ID:11231) <> default/server-5c6b:8080 (ID:22411) Policy denied DROPPED (TCP Flags: SYN)",
            ])
        let table = try observe(["-o", "table", "--verdict", "DROPPED"])
        XCTAssertEqual(table.count, 2, "header and one row")
        XCTAssertEqual(
            table.last?.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "),
            "Aug 1 10:00:02.500 default/client-7d9f:43212 default/server-5c6b:8080 Policy denied DROPPED TCP Flags: SYN"
        )
    }

    func testReadsStandardInput() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuiltProduct.path("sluice"))
        process.arguments = ["observe", "--input-file", "-", "--all", "-o", "json"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data((Self.lines.joined(separator: "\n") + "\n").utf8))
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), Self.lines.joined(separator: "\n") + "\n")
    }

    func testBadArgumentsAreUsageErrors() throws {
        let follow = try BuiltProduct.run("sluice", ["observe", "--input-file", input, "--follow"])
        XCTAssertEqual(follow.status, 64)
        XCTAssertTrue(follow.stderr.contains("--follow cannot be used with --input-file"), follow.stderr)
        let format = try BuiltProduct.run("sluice", ["observe", "--input-file", input, "-o", "yaml"])
        XCTAssertEqual(format.status, 64)
        XCTAssertTrue(format.stderr.contains("invalid output format: yaml"), format.stderr)
        let server = try BuiltProduct.run("sluice", ["observe", "--input-file", input, "--server", "127.0.0.1"])
        XCTAssertEqual(server.status, 64)
        XCTAssertTrue(server.stderr.contains("--server cannot be used with --input-file"), server.stderr)
    }

    /// A line that is not JSON is skipped with a warning naming file and line (as hubble's reader
    /// warns and goes on); the flows around it still print.
    func testABrokenLineIsSkippedWithAWarningNamingIt() throws {
        let broken = directory + "/broken.json"
        try (Self.lines[0] + "\n{\"flow\":{\"time\":\n" + Self.lines[2] + "\n").write(
            toFile: broken, atomically: true, encoding: .utf8)
        let result = try BuiltProduct.run("sluice", ["observe", "--input-file", broken, "--all", "-o", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("warning: \(broken):2: "), result.stderr)
        XCTAssertEqual(result.stdout, Self.lines[0] + "\n" + Self.lines[2] + "\n")
    }
}
