import SluiceModel
import XCTest

final class GlobTests: XCTestCase {
    private func m(_ pattern: String, _ text: String, fold: Bool = false, star: (UInt8) -> Bool = { _ in true }) -> Bool
    {
        var pattern = pattern, text = text
        return pattern.withUTF8 { p in
            text.withUTF8 {
                Glob.matches(UnsafeRawBufferPointer(p), UnsafeRawBufferPointer($0), foldingCase: fold, starCovers: star)
            }
        }
    }

    func testMatches() {
        XCTAssertTrue(m("abc", "abc"))
        XCTAssertFalse(m("abc", "abcd"))
        XCTAssertFalse(m("abcd", "abc"))
        XCTAssertTrue(m("", ""))
        XCTAssertFalse(m("", "a"))
        XCTAssertTrue(m("*", ""))
        XCTAssertTrue(m("a*", "a"))
        XCTAssertTrue(m("a*c", "abbbc"))
        XCTAssertTrue(m("*b*", "abc"))
        XCTAssertTrue(m("a**c", "ac"))
        XCTAssertFalse(m("a*c", "abbbd"))
        XCTAssertTrue(m("*.*.c", "a.b.c"))
    }

    func testCaseAndStarClass() {
        XCTAssertFalse(m("abc", "ABC"))
        XCTAssertTrue(m("abc", "ABC", fold: true))
        XCTAssertTrue(m("a*c", "aBc", fold: true))
        let noDot: (UInt8) -> Bool = { $0 != UInt8(ascii: ".") }
        XCTAssertTrue(m("*.com", "example.com", star: noDot))
        XCTAssertFalse(m("*.com", "a.example.com", star: noDot))
        XCTAssertTrue(m("*.com", "a.example.com"))
    }
}
