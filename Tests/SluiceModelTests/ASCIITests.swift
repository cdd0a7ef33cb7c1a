import SluiceModel
import XCTest

final class ASCIITests: XCTestCase {
    func testLowerFoldsOnlyASCIILetters() {
        XCTAssertEqual((0...255).map { ASCII.lower(UInt8($0)) }.filter { $0 >= 0x41 && $0 <= 0x5A }, [])
        XCTAssertEqual(ASCII.lower(UInt8(ascii: "A")), UInt8(ascii: "a"))
        XCTAssertEqual(ASCII.lower(UInt8(ascii: "[")), UInt8(ascii: "["))
        XCTAssertEqual(ASCII.lower(0xC4), 0xC4)
        XCTAssertEqual(ASCII.lowercased("API.Example.COM"), "api.example.com")
        XCTAssertEqual(ASCII.lowercased("ÄBC"), "Äbc")
    }

    func testHexAndComparisons() {
        XCTAssertEqual(ASCII.hexValue(UInt8(ascii: "f")), 15)
        XCTAssertEqual(ASCII.hexValue(UInt8(ascii: "F")), 15)
        XCTAssertEqual(ASCII.hexValue(UInt8(ascii: "9")), 9)
        XCTAssertNil(ASCII.hexValue(UInt8(ascii: "g")))
        XCTAssertTrue(ASCII.equalsIgnoringCase("Content-Length", "content-length"))
        XCTAssertFalse(ASCII.equalsIgnoringCase("Content-Length", "content-lengt"))
        XCTAssertTrue(ASCII.isWhitespace(0x09))
        XCTAssertFalse(ASCII.isWhitespace(0x0A))
        XCTAssertEqual("  a b  ".trimmingSpaces, "a b")
        XCTAssertEqual("   ".trimmingSpaces, "")
        XCTAssertEqual("\t x \t".trimmingSpaces, "x")
    }

    func testQuotedEscapesForJSONPolicyTextAndGo() {
        let text = "a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{7F}é"
        XCTAssertEqual(ASCII.quoted(text), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\u{7F}é\"")
        XCTAssertEqual(ASCII.quoted(text, shortBF: false), "\"a\\\"b\\\\c\\n\\r\\t\\u0008\\u000c\\u0001\u{7F}é\"")
        XCTAssertEqual(
            ASCII.quoted(text, controlPrefix: "\\x", shortBF: false, escapeDEL: true),
            "\"a\\\"b\\\\c\\n\\r\\t\\x08\\x0c\\x01\\x7fé\"")
        XCTAssertEqual(ASCII.hex2(0xAB), "ab")
        XCTAssertEqual(ASCII.hex2(0x05), "05")
    }
}
