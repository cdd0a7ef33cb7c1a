import XCTest

@testable import TLSClientHello

final class ServerNameSyntaxTests: XCTestCase {
    private func validate(_ text: String) throws -> String {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try ServerNameSyntax.validate($0) }
    }

    private func assertRejected(_ text: String, _ expected: ClientHelloError, line: UInt = #line) {
        XCTAssertThrowsError(try validate(text), text, line: line) {
            XCTAssertEqual($0 as? ClientHelloError, expected, text, line: line)
        }
    }

    /// The name inside a whole ClientHello, through the parser.
    func testServerNameSyntax() {
        let cases: [(String, ClientHelloResult)] = [
            ("", .malformed(.emptyServerName)),
            ("10.0.0.1", .malformed(.serverNameIsIPAddress)),
            ("10.1", .malformed(.serverNameIsIPAddress)),
            ("::1", .malformed(.serverNameIsIPAddress)),
            ("[2001:db8::1]", .malformed(.serverNameIsIPAddress)),
            (".", .malformed(.invalidServerName)),
            ("a..example", .malformed(.invalidServerName)),
            (".example", .malformed(.invalidServerName)),
            ("exa mple.com", .malformed(.invalidServerName)),
            ("ex\u{0}ample.com", .malformed(.invalidServerName)),
            ("bücher.example", .malformed(.invalidServerName)),
            (String(repeating: "a", count: 64) + ".example", .malformed(.invalidServerName)),
            (String(repeating: "abcdefg.", count: 32) + "com", .malformed(.invalidServerName)),
        ]
        for (name, expected) in cases {
            let body =
                ClientHelloParserTests.bodyHead()
                + ClientHelloParserTests.extensions([(0, ClientHelloParserTests.sniData(name))])
            XCTAssertEqual(ClientHelloParser.parse(ClientHelloParserTests.record(body: body)), expected, name)
        }
        let good: [(String, String)] = [
            ("WWW.Example.COM.", "www.example.com"), ("x_y-1.example", "x_y-1.example"),
            ("1.example.com", "1.example.com"),
            ("localhost", "localhost"), ("123.example", "123.example"),
        ]
        for (name, expected) in good {
            let body =
                ClientHelloParserTests.bodyHead()
                + ClientHelloParserTests.extensions([(0, ClientHelloParserTests.sniData(name))])
            guard case .parsed(let hello) = ClientHelloParser.parse(ClientHelloParserTests.record(body: body)) else {
                XCTFail("not parsed: \(name)")
                continue
            }
            XCTAssertEqual(hello.serverName, expected, name)
        }
    }

    func testLengthBoundsDirectly() throws {
        let label63 = String(repeating: "a", count: 63)
        XCTAssertEqual(try validate(label63 + ".example"), label63 + ".example")
        assertRejected(String(repeating: "a", count: 64), .invalidServerName)
        // 253 bytes of text is the longest name; a trailing dot does not count.
        let longest = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        XCTAssertEqual(longest.utf8.count, 253)
        XCTAssertEqual(try validate(longest), longest)
        XCTAssertEqual(try validate(longest + "."), longest)
        assertRejected(longest + "b", .invalidServerName)
    }

    func testOnlyOneTrailingDotIsRemoved() throws {
        XCTAssertEqual(try validate("a.example."), "a.example")
        assertRejected("a.example..", .invalidServerName)
        assertRejected("..", .invalidServerName)
    }

    func testIPLiteralsAreNamedAsSuch() {
        for literal in ["127.0.0.1", "1", "0x7f.1", "fe80::1", "[::1]", "a:b"] {
            assertRejected(literal, .serverNameIsIPAddress)
        }
        XCTAssertEqual(try? validate("1.2.3.4a"), "1.2.3.4a")
    }

    func testUpperCaseIsLowered() throws {
        XCTAssertEqual(try validate("API.Example.ORG"), "api.example.org")
        XCTAssertEqual(try validate("a_b-c.d"), "a_b-c.d")
    }
}
