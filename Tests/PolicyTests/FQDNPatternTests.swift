import XCTest

@testable import Policy

final class FQDNPatternTests: XCTestCase {
    private func pattern(_ text: String) throws -> FQDNPattern {
        try XCTUnwrap(FQDNPattern(matchPattern: text))
    }

    /// (pattern, name, matches) rows from Cilium's matchpattern semantics (section 1.7).
    func testPatternTruthTable() throws {
        let rows: [(String, String, Bool)] = [
            ("*.cilium.io", "www.cilium.io.", true),
            ("*.cilium.io", "cilium.io.", false),
            ("*.cilium.io", "a.b.cilium.io.", false),
            ("*.cilium.io", "WWW.Cilium.IO", true),
            ("*cilium.io", "cilium.io.", true),
            ("*cilium.io", "subcilium.io.", true),
            ("*cilium.io", "www.cilium.io.", false),
            ("**.cilium.io", "a.cilium.io.", true),
            ("**.cilium.io", "a.b.cilium.io.", true),
            ("**.cilium.io", "cilium.io.", false),
            ("*", "anything.example.com.", true),
            ("*", ".", true),
            ("**", "a.b.", true),
            ("*.", "x.", true),
            ("sub.*.io", "sub.cilium.io.", true),
            ("sub.*.io", "sub.a.b.io.", false),
            ("a_b-*.com", "a_b-1.com.", true),
            ("cilium.io", "ciliumxio.", false),
            ("*.*.svc.cluster.local", "backend.backend.svc.cluster.local.", true),
            ("*.*.svc.cluster.local", "backend.svc.cluster.local.", false),
        ]
        for (text, name, expected) in rows {
            XCTAssertEqual(try pattern(text).matches(name), expected, "\(text) vs \(name)")
        }
    }

    func testMatchNameIsLiteralCaseFoldedWithTrailingDot() {
        let name = FQDNPattern(matchName: "API.Example.com")
        XCTAssertEqual(name.description, "matchName: api.example.com.")
        XCTAssertTrue(name.matches("api.example.com."))
        XCTAssertTrue(name.matches("api.example.com"))
        XCTAssertTrue(name.matches("Api.EXAMPLE.com."))
        XCTAssertFalse(name.matches("www.api.example.com."))
        XCTAssertFalse(FQDNPattern(matchName: "a.b.com").matches("axb.com."))
    }

    func testBytesInterfaceCaseFolds() throws {
        let name = FQDNPattern(matchName: "cilium.io")
        let bytes = Array("CILIUM.io.".utf8)
        bytes.withUnsafeBytes { XCTAssertTrue(name.matches($0)) }
        let wildcard = try pattern("*.cilium.io")
        Array("WWW.CILIUM.IO.".utf8).withUnsafeBytes { XCTAssertTrue(wildcard.matches($0)) }
    }
}
