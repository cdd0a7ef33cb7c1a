import SluiceJSON
import XCTest

/// `JSONValue.serialized` (JSONWriter): compact, sorted and pretty output.
final class JSONWriterTests: XCTestCase {
    private func parse(_ text: String) throws(JSONError) -> JSONValue {
        try JSONValue.parse(Array(text.utf8))
    }

    func testSerializeRoundTrip() throws {
        let text = #"{"a":[1,-2.5e+3,true,null,"x\ny"],"b":{},"c":[],"d":"é/😀"}"#
        let value = try parse(text)
        XCTAssertEqual(String(decoding: value.serialized(), as: UTF8.self), text)
        XCTAssertEqual(try JSONValue.parse(value.serialized(pretty: true)), value)
    }

    func testSerializedSortedAndPretty() {
        let value = JSONValue.object([
            ("b", .array([.number("1"), .object([])])), ("a", .object([("y", .null), ("x", .string("s"))])),
        ])
        XCTAssertEqual(
            String(decoding: value.serialized(sortedKeys: true), as: UTF8.self),
            #"{"a":{"x":"s","y":null},"b":[1,{}]}"#)
        XCTAssertEqual(
            String(decoding: value.serialized(pretty: true), as: UTF8.self),
            """
            {
              "b": [
                1,
                {}
              ],
              "a": {
                "y": null,
                "x": "s"
              }
            }
            """)
    }

    func testStringsAreEscapedAsRFC8259Requires() {
        let value = JSONValue.array([.string("q\"b\\n\n\r\t\u{08}\u{0C}\u{01}\u{1F}é")])
        XCTAssertEqual(String(decoding: value.serialized(), as: UTF8.self), #"["q\"b\\n\n\r\t\b\f\u0001\u001fé"]"#)
    }

    func testEmptyContainersAndScalarsPretty() {
        XCTAssertEqual(String(decoding: JSONValue.array([]).serialized(pretty: true), as: UTF8.self), "[]")
        XCTAssertEqual(String(decoding: JSONValue.object([]).serialized(pretty: true), as: UTF8.self), "{}")
        XCTAssertEqual(String(decoding: JSONValue.bool(false).serialized(), as: UTF8.self), "false")
        XCTAssertEqual(String(decoding: JSONValue.number("-1.50").serialized(), as: UTF8.self), "-1.50")
    }
}
