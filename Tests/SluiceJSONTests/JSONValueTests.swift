import SluiceJSON
import XCTest

/// JSONValue's structural equality and JSONError's message and equality.
final class JSONValueTests: XCTestCase {
    func testJSONErrorDescriptionAndEquality() {
        func error(decoding text: String) -> JSONError? {
            do {
                _ = try JSON.decode(Int.self, from: text)
                return nil
            } catch {
                return error
            }
        }
        let x = error(decoding: "x")
        XCTAssertEqual(x.map { "\($0)" }, "line 1 column 1: expected a value, found 'x'")
        XCTAssertNotNil(x)
        XCTAssertEqual(x, error(decoding: "x"), "the same failure twice is the same error")
        XCTAssertNotEqual(x, error(decoding: "y"), "another character")
        XCTAssertNotEqual(x, error(decoding: " x"), "another column")
        XCTAssertNotEqual(x, error(decoding: "\"x\""), "another reason")
        XCTAssertNil(error(decoding: "1"))
    }

    func testEqualityIsStructuralAndOrdered() {
        XCTAssertEqual(JSONValue.number("1.0"), .number("1.0"))
        XCTAssertNotEqual(JSONValue.number("1.0"), .number("1"), "numbers compare by text")
        XCTAssertEqual(
            JSONValue.object([("a", .null), ("b", .bool(true))]), .object([("a", .null), ("b", .bool(true))]))
        XCTAssertNotEqual(
            JSONValue.object([("a", .null), ("b", .bool(true))]), .object([("b", .bool(true)), ("a", .null)]),
            "members compare in order")
        XCTAssertNotEqual(JSONValue.object([("a", .null)]), .object([("a", .null), ("a", .null)]))
        XCTAssertNotEqual(JSONValue.object([("a", .null)]), .object([("b", .null)]))
        XCTAssertNotEqual(JSONValue.object([("a", .null)]), .object([("a", .bool(false))]))
        XCTAssertNotEqual(JSONValue.array([.string("x")]), .array([.string("y")]))
        XCTAssertNotEqual(JSONValue.string("1"), .number("1"))
        XCTAssertNotEqual(JSONValue.null, .bool(false))
    }

    func testParseKeepsDuplicatesAndOrder() throws {
        XCTAssertEqual(
            try JSONValue.parse(Array(#"{"b":1,"a":2,"b":3}"#.utf8)),
            .object([("b", .number("1")), ("a", .number("2")), ("b", .number("3"))]))
    }
}
