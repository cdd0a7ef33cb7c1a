import SluiceModel
import XCTest

final class FQDNGlobTests: XCTestCase {
    private func m(_ pattern: String, _ name: String) -> Bool { FQDNGlob(pattern)!.matches(name) }

    func testMatches() {
        XCTAssertTrue(m("api.example.com", "api.example.com"))
        XCTAssertTrue(m("API.Example.com.", "api.example.com"))
        XCTAssertTrue(m(" api.example.com ", "api.example.com"))
        XCTAssertTrue(m("*.example.com", "a.b.example.com"))  // `*` crosses dots, unlike matchPattern
        XCTAssertTrue(m("*example.com", "example.com"))
        XCTAssertTrue(m("*", "anything.at.all"))
        XCTAssertTrue(m("a*c", "abbbc"))
        XCTAssertFalse(m("*.example.com", "example.org"))
        XCTAssertFalse(m("api.example.com", "api.example.com.evil"))
        XCTAssertFalse(m("a*c", "ab/c"))
    }

    func testRejects() {
        for text in ["", "   ", ".", "a b.com", "exa$mple.com", "ü.com"] {
            XCTAssertNil(FQDNGlob(text), text)
        }
    }
}
