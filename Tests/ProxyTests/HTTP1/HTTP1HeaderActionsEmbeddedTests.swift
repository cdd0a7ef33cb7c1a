import Flows
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `headerMatches` mismatch actions through `HTTP1Connection` driven by `EmbeddedHTTP1`: the
/// upstream receives the head the actions of every matching rule edited, byte for byte, and the
/// request flow records the actions that fired.
final class HTTP1HeaderActionsEmbeddedTests: XCTestCase {
    private func make() throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: 8080,
                rules: [
                    "{path: '/allowed.*', headerMatches: [{name: X-Tenant, value: blue, mismatch: ADD}, "
                        + "{name: X-Debug, value: 'off', mismatch: DELETE}]}",
                    "{method: GET, headerMatches: [{name: X-Mode, value: safe, mismatch: REPLACE}]}",
                ]))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
    }

    func testTheUpstreamReceivesTheEditedHead() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nX-Debug: on\r\nX-Mode: fast\r\nAccept: */*\r\n\r\n")
        e.upstreamConnects()
        XCTAssertEqual(
            e.upstreamReceived(),
            "GET /allowed HTTP/1.1\r\nHost: backend\r\nAccept: */*\r\nX-Tenant: blue\r\nX-Mode: safe\r\n\r\n")
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(
            e.flows.first?.l7Verdict, Flow.L7Verdict(reason: .ruleMatched, headerActions: [.add, .delete, .replace]))
    }

    func testARequestThatMatchesEverythingIsForwardedByteForByte() throws {
        let e = try make()
        let head = "GET /allowed HTTP/1.1\r\nHost: backend\r\nX-Tenant: blue\r\nX-Mode: safe\r\n\r\n"
        e.clientSends(head)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), head)
        XCTAssertEqual(e.flows.first?.l7Verdict, Flow.L7Verdict(reason: .ruleMatched))
    }
}
