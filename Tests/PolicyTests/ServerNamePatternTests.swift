import XCTest

@testable import Policy

final class ServerNamePatternTests: XCTestCase {
    /// (entry, SNI, matches): Cilium 1.18+ serverNames semantics.
    func testTruthTable() throws {
        let rows: [(String, String?, Bool)] = [
            // Exact, case-insensitive, one trailing dot ignored.
            ("api.example.com", "api.example.com", true),
            ("api.example.com", "API.Example.COM", true),
            ("API.EXAMPLE.COM", "api.example.com", true),
            ("api.example.com.", "api.example.com", true),
            ("api.example.com", "api.example.com.", true),
            ("api.example.com", "www.api.example.com", false),
            ("api.example.com", "example.com", false),
            ("api.example.com", "apixexample.com", false),
            ("api.example.com", "api.example.co", false),
            // `*` alone: every name, never a missing one.
            ("*", "anything.example.com", true),
            ("*", "localhost", true),
            ("*", nil, false),
            ("*", "", false),
            ("**", "a.b.c", true),
            // `*.x`: exactly one label.
            ("*.example.com", "www.example.com", true),
            ("*.example.com", "WWW.EXAMPLE.COM", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "www.example.org", false),
            // `**.x`: one or more labels.
            ("**.example.com", "www.example.com", true),
            ("**.example.com", "a.b.c.example.com", true),
            ("**.example.com", "example.com", false),
            ("**.example.com", ".example.com", false),
            ("**.example.com", "wwwexample.com", false),
            // `*` inside a label: any run inside that label only.
            ("api-*.example.com", "api-eu.example.com", true),
            ("api-*.example.com", "api-.example.com", true),
            ("api-*.example.com", "api.example.com", false),
            ("api-*.example.com", "api-eu.x.example.com", false),
            ("*-api.example.com", "eu-api.example.com", true),
            ("a*b*c.example.com", "abc.example.com", true),
            ("a*b*c.example.com", "a-x-b_y-c.example.com", true),
            ("a*b*c.example.com", "a-x-c.example.com", false),
            ("www.*.com", "www.example.com", true),
            ("www.*.com", "www.a.b.com", false),
            ("**.*.svc.cluster.local", "backend.ns.svc.cluster.local", true),
            ("**.*.svc.cluster.local", "ns.svc.cluster.local", false),
            // No SNI never matches, whatever the entry.
            ("api.example.com", nil, false),
            ("**.example.com", nil, false),
        ]
        for (entry, name, expected) in rows {
            XCTAssertEqual(try ServerNamePattern(entry).matches(name), expected, "\(entry) vs \(name ?? "<no SNI>")")
        }
    }

    func testBytesInterface() throws {
        let pattern = try ServerNamePattern("*.Example.com")
        XCTAssertEqual(pattern.description, "*.example.com")
        let bytes = Array("WWW.example.COM".utf8)
        XCTAssertTrue(bytes.withUnsafeBytes { pattern.matches($0) })
        XCTAssertFalse([UInt8]().withUnsafeBytes { pattern.matches($0) })
    }

    func testSyntaxErrors() {
        let rows: [(String, ServerNamePattern.SyntaxError)] = [
            ("", .empty),
            ("exa mple.com", .invalidCharacter),
            ("example.com/path", .invalidCharacter),
            ("bücher.example", .invalidCharacter),
            ("a..example.com", .emptyLabel),
            (".example.com", .emptyLabel),
            ("..", .emptyLabel),
            ("www.**.com", .misplacedDoubleStar),
            ("a**.example.com", .misplacedDoubleStar),
            (String(repeating: "a.", count: 127) + "ab", .tooLong),
        ]
        for (entry, expected) in rows {
            XCTAssertThrowsError(try ServerNamePattern(entry), entry) { error in
                XCTAssertEqual(error as? ServerNamePattern.SyntaxError, expected, entry)
            }
        }
        XCTAssertEqual(ServerNamePattern.SyntaxError.empty.description, "empty server name is not allowed")
    }
}
