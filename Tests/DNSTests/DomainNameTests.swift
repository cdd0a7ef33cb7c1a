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

    /// The rendering (sized first, then written into one array) against a reference escaper
    /// written here byte by byte, on 2,000 random names over every byte value and label length,
    /// upper-case kept and lower-cased.
    func testRenderingOfRandomNamesMatchesAReferenceEscaper() throws {
        func reference(_ labels: [[UInt8]], lower: Bool) -> [UInt8] {
            if labels.isEmpty { return Array(".".utf8) }
            var out: [UInt8] = []
            for label in labels {
                for raw in label {
                    let byte = lower && raw >= 0x41 && raw <= 0x5A ? raw + 0x20 : raw
                    if Array(". '@;()\"\\".utf8).contains(byte) {
                        out += [0x5C, byte]
                    } else if byte >= 0x21 && byte <= 0x7E {
                        out.append(byte)
                    } else {
                        out += [0x5C, 0x30 + byte / 100, 0x30 + byte / 10 % 10, 0x30 + byte % 10]
                    }
                }
                out.append(0x2E)
            }
            return out
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var labels: [[UInt8]] = []
            var wire = 1
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                let length = Int.random(in: 1...63, using: &generator)
                guard wire + 1 + length <= DNSLimits.maxNameWireLength else { break }
                wire += 1 + length
                labels.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            let name = try DomainName(labels: labels)
            XCTAssertEqual(name.lowercasedTextBytes, reference(labels, lower: true))
            XCTAssertEqual(Array(name.text.utf8), reference(labels, lower: false))
        }
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
