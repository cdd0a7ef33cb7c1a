import XCTest

@testable import Flows

final class TextTableTests: XCTestCase {
    func testColumnsAreWidestCellPlusThreeAndTheLastIsNotPadded() {
        let lines = TextTable.align([["ID", "NAME", "X"], ["1234567", "a", "long last cell"], ["9", "bb"]])
        XCTAssertEqual(lines, ["ID        NAME   X", "1234567   a      long last cell", "9         bb"])
    }

    func testMinimumWidthIsTwo() {
        // An empty cell in a non-last column is 0 + 3 wide, over the minimum of 2.
        XCTAssertEqual(TextTable.align([["", "b"]]), ["   b"])
        XCTAssertEqual(TextTable.align([["a"]]), ["a"])
        XCTAssertEqual(TextTable.align([]), [])
        XCTAssertEqual(TextTable.align([[]]), [""])
    }
}
