import Flows
import Foundation
import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Base of the socket-level proxy tests: starts an upstream with a script, a policy for its
/// port, and a proxy worker steering every connection as client → backend ingress; stops them
/// after the test.
class ProxyTestCase: XCTestCase {
    var upstream: UpstreamServer!
    var proxy: ProxyHarness!
    var snapshot: PolicySnapshot!

    override func tearDown() {
        proxy?.stop()
        upstream?.stop()
        proxy = nil
        upstream = nil
        super.tearDown()
    }

    /// Starts everything; `rules` are the HTTP rules of the backend's port (YAML flow items), or
    /// `policy` gives the whole policy text for the upstream's port.
    func start(
        _ script: @escaping (TestSocket) -> Void,
        rules: [String] = ProxyTestCase.defaultRules,
        policy: ((UInt16) -> String)? = nil,
        config: ProxyConfig = ProxyConfig(workers: 1),
        steer: ((PolicySnapshot) -> SteerInfo?)? = nil
    ) throws {
        upstream = try XCTUnwrap(UpstreamServer(script: script))
        snapshot = try TestPolicy.snapshot(policy?(upstream.port) ?? TestPolicy.yaml(port: upstream.port, rules: rules))
        let steering = steer.map { $0(snapshot) } ?? TestPolicy.ingressSteer(snapshot)
        proxy = try ProxyHarness(snapshot: snapshot, steer: steering, config: config)
    }

    /// A new client connection through the proxy to the upstream.
    func client() throws -> TestSocket {
        try proxy.connect(upstreamPort: upstream.port)
    }

    /// For the message of an assertion on an upstream's answer: how many connections the upstream
    /// accepted and the flows so far (a local 503's summary names the upstream's failure, e.g.
    /// `upstream EOF`, `upstream ECONNREFUSED`), so a failure that a busy machine produces once in
    /// a while says where the exchange broke.
    var upstreamReport: String {
        "upstream port \(upstream.port) accepted \(upstream.connections.count) connection(s); flows: "
            + proxy.sink.flows.map(\.summary).joined(separator: " | ")
    }

    /// `response` with its date value replaced by `DATE`, after checking it is an IMF-fixdate.
    func withoutDate(_ response: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        let text = String(decoding: response, as: UTF8.self)
        guard let range = text.range(of: "date: ") else {
            XCTFail("no date field in \(text)", file: file, line: line)
            return text
        }
        let value = text[range.upperBound...].prefix(29)
        XCTAssertNotNil(
            value.range(
                of: #"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$"#,
                options: .regularExpression),
            "date \(value)", file: file, line: line)
        return text.replacingCharacters(
            in: range.upperBound..<text.index(range.upperBound, offsetBy: value.count),
            with: "DATE")
    }

    /// The local reply the proxy generates for `status` (date replaced by `DATE`).
    func localReply(_ status: String, body: String, close: Bool = false) -> String {
        "HTTP/1.1 \(status)\r\ncontent-length: \(body.utf8.count)\r\ncontent-type: text/plain\r\ndate: DATE\r\n"
            + "server: envoy\r\n" + (close ? "connection: close\r\n" : "") + "\r\n" + body
    }

    /// GET anything under /allowed, POST only under /allowed/post.
    static let defaultRules = ["{method: GET, path: \"/allowed.*\"}", "{method: POST, path: \"/allowed/post.*\"}"]
    static let accessDenied = "Access denied\r\n"
    static let connectFailure =
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
}

extension Flow {
    /// The HTTP part of an L7 flow.
    var http: Flow.HTTP? { l7?.http }
}
