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
}
