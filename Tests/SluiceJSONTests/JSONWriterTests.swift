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

    /// The public escaper appends the very bytes the writer gives for a string, after what the
    /// output already holds.
    func testAppendEscapedStringAppendsTheWritersBytes() {
        var text = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        text += "\"/\\ é 😀 \u{7f} plain"
        var output = Array("x:".utf8)
        JSON.appendEscapedString(text, to: &output)
        XCTAssertEqual(output, Array("x:".utf8) + JSONValue.string(text).serialized())
        let controls =
            #"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
        XCTAssertEqual(
            String(decoding: output, as: UTF8.self), "x:\"" + controls + #"\"/\\ é 😀 "# + "\u{7f} plain\"")
        var empty: [UInt8] = []
        JSON.appendEscapedString("", to: &empty)
        XCTAssertEqual(empty, Array(#""""#.utf8))
    }

    func testEmptyContainersAndScalarsPretty() {
        XCTAssertEqual(String(decoding: JSONValue.array([]).serialized(pretty: true), as: UTF8.self), "[]")
        XCTAssertEqual(String(decoding: JSONValue.object([]).serialized(pretty: true), as: UTF8.self), "{}")
        XCTAssertEqual(String(decoding: JSONValue.bool(false).serialized(), as: UTF8.self), "false")
        XCTAssertEqual(String(decoding: JSONValue.number("-1.50").serialized(), as: UTF8.self), "-1.50")
    }
}
