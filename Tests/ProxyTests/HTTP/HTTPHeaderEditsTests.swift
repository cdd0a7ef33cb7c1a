import Flows
import HTTP2
import XCTest

@testable import Policy
@testable import Proxy

/// `HTTPHeaderEdits`: cilium/proxy's mismatch actions run in order against the request as the
/// earlier actions left it, then applied to an HTTP/1 head and an HTTP/2 header block.
final class HTTPHeaderEditsTests: XCTestCase {
    private func action(_ name: String, _ value: String?, _ kind: HTTPHeaderAction.Action) -> HTTPHeaderAction {
        HTTPHeaderAction(name: name, value: value, action: kind)
    }

    /// Runs `actions` on GET / with `headers` (as an HTTP/1 head): the edits and the fired bits.
    private func run(
        _ actions: [[HTTPHeaderAction]], headers: [(String, String)]
    ) -> (HTTPHeaderEdits, [Flow.HeaderActions]) {
        HTTPRequestFixture.http1("GET", "/", headers: headers) { view in
            var edits = HTTPHeaderEdits()
            let fired = actions.map { edits.run($0, on: view) }
            return (edits, fired)
        }
    }

    func testActionsSeeTheEditsOfTheActionsBeforeThem() {
        // Two rules both ADD X-Tenant: the second sees the first's field and does nothing (Envoy
        // mutates the headers between rules). A later REPLACE of X-Mode wins over an ADD.
        let (edits, fired) = run(
            [
                [action("X-Tenant", "blue", .add), action("X-Mode", "a", .add)],
                [action("x-tenant", "blue", .add), action("X-Mode", "b", .replace)],
            ], headers: [])
        XCTAssertEqual(fired, [[.add], [.replace]])
        XCTAssertEqual(
            edits.edits,
            [
                HTTPHeaderEdits.Edit(name: "X-Tenant", removeReceived: false, added: ["blue"]),
                HTTPHeaderEdits.Edit(name: "X-Mode", removeReceived: true, added: ["b"]),
            ])
    }

    func testDeleteRemovesOnlyAPresentHeaderWithAnotherValue() {
        let absent = run([[action("X-Debug", "off", .delete)]], headers: [])
        XCTAssertTrue(absent.0.isEmpty, "nothing to remove")
        XCTAssertEqual(absent.1, [[]])
        let presence = run([[action("X-Debug", nil, .delete)]], headers: [("X-Debug", "1")])
        XCTAssertTrue(presence.0.isEmpty, "a presence-only check does nothing")
        let wrong = run([[action("X-Debug", "off", .delete)]], headers: [("x-debug", "on")])
        XCTAssertEqual(wrong.1, [[.delete]])
        XCTAssertEqual(wrong.0.edits, [HTTPHeaderEdits.Edit(name: "X-Debug", removeReceived: true, added: [])])
        let right = run(
            [[action("X-Debug", "off", .delete), action("X-Audit", nil, .log)]], headers: [("X-Debug", "off")])
        XCTAssertTrue(right.0.isEmpty)
        XCTAssertEqual(right.1, [[.log]], "LOG fires for the missing header and changes nothing")
    }

    func testAppliedToAnHTTP1Head() {
        let (edits, _) = run(
            [
                [
                    action("X-Tenant", "blue", .add), action("X-Mode", "safe", .replace),
                    action("X-Debug", "off", .delete),
                ]
            ],
            headers: [("X-Mode", "fast"), ("X-Debug", "on"), ("Accept", "*/*"), ("x-mode", "again")])
        let head = Array(
            "GET / HTTP/1.1\r\nHost: backend\r\nX-Mode: fast\r\nX-Debug: on\r\nAccept: */*\r\nx-mode: again\r\n\r\n"
                .utf8)
        let out = head.withUnsafeBytes { edits.applied(toHead: $0) }
        XCTAssertEqual(
            String(decoding: out, as: UTF8.self),
            "GET / HTTP/1.1\r\nHost: backend\r\nAccept: */*\r\nX-Tenant: blue\r\nX-Mode: safe\r\n\r\n")
    }

    func testAppliedToAnHTTP2Block() {
        let (edits, _) = run(
            [[action("X-Tenant", "blue", .add), action("X-Mode", "safe", .replace)]], headers: [("X-Mode", "fast")])
        let block = HTTP2HeaderBlock([
            (":method", "GET"), (":path", "/"), ("x-mode", "fast"), ("accept", "*/*"),
        ])
        XCTAssertEqual(
            edits.applied(to: block).pairs.map { "\($0.0)=\($0.1)" },
            [":method=GET", ":path=/", "accept=*/*", "x-tenant=blue", "x-mode=safe"])
    }
}
