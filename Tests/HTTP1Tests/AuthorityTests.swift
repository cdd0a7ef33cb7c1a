import XCTest

@testable import HTTP1

/// `Authority.validate`: Host values a backend could read two ways are 400.
final class AuthorityTests: XCTestCase {
    func valid(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { bytes in
            do throws(ParseError) { try Authority.validate(bytes); return true } catch {
                XCTAssertEqual(error, .badHost)
                return false
            }
        }
    }

    func testAcceptedHosts() {
        for host in [
            "backend", "backend:8080", "10.0.0.1", "10.0.0.1:80", "[::1]", "[::1]:443", "a-b.c_d.example",
            "xn--bcher-kva.example", "%41bc", "[v1.fe80::a+en1]",
        ] {
            XCTAssertTrue(valid(host), host)
        }
    }

    func testRejectedHosts() {
        for host in [
            "", "a@b", "user:pw@backend", "a b", "a#b", "a/b", "a?b", "backend:", "backend:123456",
            "backend:8a", ":80", "[::1", "[]", "[::1]x", "a:1:2", "%4", "%zz", "a\"b", "a<b", "a\\b",
        ] {
            XCTAssertFalse(valid(host), host)
        }
    }

    func testEqualIgnoresCase() {
        Array("Backend:80".utf8).withUnsafeBytes { a in
            Array("bACKEND:80".utf8).withUnsafeBytes { b in XCTAssertTrue(Authority.equal(a, b)) }
            Array("backend".utf8).withUnsafeBytes { b in XCTAssertFalse(Authority.equal(a, b)) }
        }
    }
}
