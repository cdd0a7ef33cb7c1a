import Flows
import Foundation
import HTTP2
import XCTest

@testable import Proxy

/// HTTP/2 `:path` is normalised by the same `PathNormalizer` as HTTP/1 before matching, and the
/// upstream receives the normalised path. Rules: GET /allowed.* (ProxyTestCase.defaultRules).
final class HTTP2PathCheckTests: ProxyTestCase {

    func testBlockCheckOutcomes() {
        func outcome(_ path: String) -> String {
            switch HTTP2PathCheck.check(HTTP2Peer.request("GET", path)) {
            case .forward(let block): return "forward " + (block.text(of: ":path") ?? "")
            case .reject: return "reject"
            case .redirect(let location): return "redirect " + String(decoding: location, as: UTF8.self)
            }
        }
        XCTAssertEqual(outcome("/allowed/a"), "forward /allowed/a")
        XCTAssertEqual(outcome("/allowed/../x"), "forward /x")
        XCTAssertEqual(outcome("/allowed/%2e%2e/x?q"), "forward /x?q")
        XCTAssertEqual(outcome("/allowed%2Fx"), "redirect /allowed/x")
        XCTAssertEqual(outcome("/allowed#x"), "reject")
        let normalized = HTTP2PathCheck.check(HTTP2Peer.request("GET", "/a/./b", [("x-k", "v")]))
        guard case .forward(let block) = normalized else { return XCTFail("not forwarded") }
        XCTAssertEqual(block.pairs.map { $0.0 }, HTTP2Peer.request("GET", "/a/b", [("x-k", "v")]).pairs.map { $0.0 })
        XCTAssertEqual(block.text(of: "x-k"), "v")
    }

    func testNormalisedBeforeMatchingAndForwardedNormalised() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let denied = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/../secret"), hasBody: false)
        let encoded = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/%2e%2e/secret"), hasBody: false)
        let allowed = try c.session.submitRequest(HTTP2Peer.request("GET", "//allowed/./x/../y"), hasBody: false)
        let slash = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed%2F..%2Fsecret?q=1"), hasBody: false)
        let fragment = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed#f"), hasBody: false)
        XCTAssertTrue(c.pump { _ in [denied, encoded, allowed, slash, fragment].allSatisfy { c.isClosed($0) } })
        XCTAssertEqual(c.headers(denied).first?.text(of: ":status"), "403")
        XCTAssertEqual(c.headers(encoded).first?.text(of: ":status"), "403")
        XCTAssertEqual(c.headers(allowed).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: c.body(allowed), as: UTF8.self), "ok GET /allowed/y 0")
        XCTAssertEqual(c.headers(slash).first?.text(of: ":status"), "307")
        XCTAssertEqual(c.headers(slash).first?.text(of: "location"), "/secret?q=1")
        XCTAssertEqual(c.headers(fragment).first?.text(of: ":status"), "400")

        let flows = proxy.sink.waitForFlows(10)
        let requests = flows.filter { $0.l7?.type == .request }
        XCTAssertEqual(
            requests.filter { $0.verdict == .dropped }.map { $0.http?.url ?? "" }.sorted(),
            ["http://backend/allowed%2F..%2Fsecret?q=1", "http://backend/secret", "http://backend/secret"])
        XCTAssertEqual(requests.filter { $0.verdict == .error }.count, 1)
        XCTAssertEqual(
            flows.filter { $0.l7?.type == .response }.map { $0.http?.code ?? 0 }.sorted(),
            [200, 307, 400, 403, 403])
    }

    func testUnderscoreHeaderActions() {
        let block = HTTP2Peer.request("GET", "/allowed", [("x_role", "admin"), ("x-role", "user")])
        guard case .reject = HTTP2PathCheck.check(block, underscores: .rejectRequest) else {
            return XCTFail("not rejected")
        }
        guard case .forward(let dropped) = HTTP2PathCheck.check(block, underscores: .dropHeader) else {
            return XCTFail("not forwarded")
        }
        XCTAssertNil(dropped.text(of: "x_role"))
        XCTAssertEqual(dropped.text(of: "x-role"), "user")
        XCTAssertEqual(dropped.text(of: ":path"), "/allowed")
        guard case .forward(let kept) = HTTP2PathCheck.check(block, underscores: .allow) else {
            return XCTFail("allow")
        }
        XCTAssertEqual(kept.text(of: "x_role"), "admin")
    }

    func testUnderscoreHeaderStreamGets400ByDefault() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let bad = try c.session.submitRequest(
            HTTP2Peer.request("GET", "/allowed/a", [("x_role", "admin")]), hasBody: false)
        let good = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/b"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(bad) && c.isClosed(good) })
        XCTAssertEqual(c.headers(bad).first?.text(of: ":status"), "400")
        XCTAssertEqual(c.headers(good).first?.text(of: ":status"), "200", "the connection goes on")
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.filter { $0.verdict == .error }.map { $0.http?.url ?? "" }, ["http://backend/allowed/a"])
    }
}
