import HTTP2
import XCTest

@testable import Proxy

/// RFC 9113 8.3.1: `:authority` and `host` that disagree make the request malformed; when they
/// agree only `:authority` goes on. Header blocks in, outcome out (the connection-level behaviour
/// is in HTTP2ConnectionHostileTests).
final class HTTP2AuthorityCheckTests: XCTestCase {
    private func block(_ pairs: [(String, String)]) -> HTTP2HeaderBlock {
        HTTP2HeaderBlock([(":method", "GET"), (":scheme", "http")] + pairs + [(":path", "/x"), ("accept", "*/*")])
    }

    /// "forward <names>" with the authority-bearing fields kept, or "reject".
    private func outcome(_ pairs: [(String, String)], scheme: String = "http") -> String {
        var b = HTTP2HeaderBlock([(":method", "GET"), (":scheme", scheme)] + pairs)
        b.append(name: ":path", value: "/x")
        switch HTTP2AuthorityCheck.check(b) {
        case .reject: return "reject"
        case .forward(let out):
            return "forward "
                + out.pairs.filter { $0.0 == ":authority" || $0.0 == "host" }.map { "\($0.0)=\($0.1)" }
                .joined(separator: " ")
        }
    }

    func testDisagreeingHostIsRejected() {
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "evil")]), "reject")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "backend.evil")]), "reject")
        XCTAssertEqual(outcome([(":authority", "backend:8080"), ("host", "backend")]), "reject")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "backend:8080")]), "reject")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "backend:443")]), "reject", "443 is not http's")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "b%61ckend")]), "reject")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "")]), "reject")
        XCTAssertEqual(outcome([(":authority", "[::1]:80"), ("host", "[::2]")]), "reject")
        XCTAssertEqual(outcome([("host", "a"), ("host", "b")]), "reject", "two hosts that differ")
    }

    func testAgreeingHostIsDroppedSoOneAuthorityGoesOn() {
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "backend")]), "forward :authority=backend")
        XCTAssertEqual(outcome([(":authority", "Backend"), ("host", "bACKEND")]), "forward :authority=Backend")
        XCTAssertEqual(outcome([(":authority", "backend"), ("host", "backend:80")]), "forward :authority=backend")
        XCTAssertEqual(outcome([(":authority", "backend:"), ("host", "backend")]), "forward :authority=backend:")
        XCTAssertEqual(
            outcome([(":authority", "backend:443"), ("host", "backend")], scheme: "https"),
            "forward :authority=backend:443")
        XCTAssertEqual(outcome([(":authority", "[::1]:80"), ("host", "[::1]")]), "forward :authority=[::1]:80")
        XCTAssertEqual(outcome([("host", "a"), ("host", "A:80")]), "forward host=a")
    }

    func testWithoutHostTheBlockIsUntouched() {
        let b = block([(":authority", "backend")])
        XCTAssertEqual(HTTP2AuthorityCheck.check(b), .forward(b))
        let hostOnly = block([("host", "backend")])
        XCTAssertEqual(HTTP2AuthorityCheck.check(hostOnly), .forward(hostOnly), "host alone is the authority")
        let other = block([(":authority", "backend"), ("host", "backend")])
        guard case .forward(let out) = HTTP2AuthorityCheck.check(other) else { return XCTFail("rejected") }
        XCTAssertEqual(
            out.pairs.map(\.0), [":method", ":scheme", ":authority", ":path", "accept"], "only host is dropped")
    }

    func testThePathCheckAppliesIt() {
        XCTAssertEqual(
            String(describing: HTTP2PathCheck.check(block([(":authority", "backend"), ("host", "evil")]))), "reject")
    }
}
