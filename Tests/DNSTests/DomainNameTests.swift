import XCTest

@testable import DNS

final class DomainNameTests: XCTestCase {
    func testTextForms() throws {
        let name = try DomainName("WWW.Example.COM")
        XCTAssertEqual(name.text, "WWW.Example.COM.")
        XCTAssertEqual(name.lowercasedText, "www.example.com.")
        XCTAssertEqual(name.labelCount, 3)
        XCTAssertEqual(name.labels, [Array("WWW".utf8), Array("Example".utf8), Array("COM".utf8)])
        XCTAssertEqual(name.wireLength, 17)
        XCTAssertEqual(try DomainName("example.com."), try DomainName("example.com"))
    }

    func testRoot() throws {
        XCTAssertEqual(DomainName.root.lowercasedText, ".")
        XCTAssertTrue(try DomainName(".").isRoot)
        XCTAssertTrue(try DomainName("").isRoot)
        XCTAssertEqual(DomainName.root.wireBytes, [0])
    }

    func testCaseInsensitiveEqualityAndHash() throws {
        let upper = try DomainName("CILIUM.io")
        let lower = try DomainName("cilium.IO")
        XCTAssertEqual(upper, lower)
        XCTAssertEqual(Set([upper, lower]).count, 1)
        XCTAssertNotEqual(upper, try DomainName("cilium.iO.x"))
        // Only ASCII letters fold: 0xC9 and 0xE9 differ.
        XCTAssertNotEqual(try DomainName(labels: [[0xC9]]), try DomainName(labels: [[0xE9]]))
    }

    func testEscapingLikeMiekg() throws {
        let name = try DomainName(labels: [Array("a.b".utf8), [0x20, 0x00, 0x7F, 0x41], Array("c\\d".utf8)])
        XCTAssertEqual(name.text, "a\\.b.\\ \\000\\127A.c\\\\d.")
        XCTAssertEqual(name.lowercasedText, "a\\.b.\\ \\000\\127a.c\\\\d.")
        XCTAssertEqual(try DomainName(name.text), name)
        XCTAssertEqual(try DomainName("a\\046b").labels, [Array("a.b".utf8)])
    }

    func testLimits() {
        let label63 = String(repeating: "a", count: 63)
        XCTAssertNoThrow(try DomainName(label63 + ".com"))
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName(label63 + "a.com") }, .labelTooLong)
        let name253 =
            [String](repeating: label63, count: 3).joined(separator: ".") + "." + String(repeating: "b", count: 61)
        XCTAssertEqual(try DomainName(name253).wireLength, 255)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName("c." + name253) }, .nameTooLong)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName("a..b") }, .emptyLabel)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName(".a") }, .emptyLabel)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName("a\\25") }, .badEscape)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName("a\\256") }, .badEscape)
        XCTAssertEqual(parseError { () throws(DNSParseError) in try DomainName(labels: [[]]) }, .emptyLabel)
    }
}
