import SluiceModel
import XCTest

@testable import HTTP1

/// The byte classes and list splitting the parser relies on, checked against their RFC definitions.
final class ASCIITests: XCTestCase {
    func testTokenMasksMatchRFC9110() {
        let tchar = Set(Array(ascii: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        for byte in 0...255 {
            XCTAssertEqual(ASCII.isToken(UInt8(byte)), tchar.contains(UInt8(byte)), "byte \(byte)")
        }
    }

    func testFieldContent() {
        for byte in 0...255 {
            let allowed = byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
            XCTAssertEqual(ASCII.isFieldContent(UInt8(byte)), allowed, "byte \(byte)")
        }
    }

    func testHexValues() {
        for byte in 0...255 {
            let expected = Int(String(UnicodeScalar(UInt8(byte))), radix: 16)
            XCTAssertEqual(ASCII.hexValue(UInt8(byte)), expected, "byte \(byte)")
        }
    }

    func testCaseInsensitiveEquals() {
        Array(ascii: "Content-LENGTH").withUnsafeBytes { raw in
            XCTAssertTrue(asciiCaseInsensitiveEquals(raw, "content-length"))
            XCTAssertTrue(asciiCaseInsensitiveEquals(raw, "CONTENT-length"))
            XCTAssertFalse(asciiCaseInsensitiveEquals(raw, "content-lengths"))
            XCTAssertFalse(asciiCaseInsensitiveEquals(raw, "content_length"))
        }
        // Only letters fold: '\r' | 0x20 is '-', which must not compare equal.
        Array([0x61, 0x0D]).withUnsafeBytes { XCTAssertFalse(asciiCaseInsensitiveEquals($0, "a-")) }
        Array([0xC0]).withUnsafeBytes { XCTAssertFalse(asciiCaseInsensitiveEquals($0, "`")) }
        XCTAssertTrue(asciiCaseInsensitiveEquals(UnsafeRawBufferPointer(start: nil, count: 0), ""))
    }

    func testCaseSensitiveEqualsAndBounds() {
        Array(ascii: "HEAD").withUnsafeBytes { raw in
            XCTAssertTrue(ASCII.equals(raw, 0..<4, "HEAD"))
            XCTAssertFalse(ASCII.equals(raw, 0..<4, "head"))
            XCTAssertFalse(ASCII.equals(raw, 1..<5, "EAD?"))
            XCTAssertFalse(ASCII.equalsIgnoringCase(raw, 2..<6, "adxx"))
        }
    }

    func testListElements() {
        let bytes = Array(ascii: "X a , b,,\tc d ,")
        let elements: [String] = bytes.withUnsafeBytes { raw in
            var iterator = ListElements(raw, 1..<bytes.count)
            var texts: [String] = []
            while let range = iterator.next() { texts.append(bytes.text(range) ?? "?") }
            return texts
        }
        XCTAssertEqual(elements, ["a", "b", "", "c d", ""])
    }
}
