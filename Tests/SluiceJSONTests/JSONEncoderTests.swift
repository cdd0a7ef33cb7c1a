import SluiceJSON
import XCTest

/// The encoder's exact output: key order, string escapes, number text, and non-finite values.
final class JSONEncoderTests: XCTestCase {
    func testSortedKeysOutput() throws {
        struct Small: Codable { var b: Int; var a: [Int]; var c: [String: Bool]; var d: String?; var e: [Int] }
        let small = Small(b: 1, a: [1, 2], c: ["y": true, "x": false], d: nil, e: [])
        XCTAssertEqual(
            try JSON.encodeString(small, sortedKeys: true), #"{"a":[1,2],"b":1,"c":{"x":false,"y":true},"e":[]}"#)
        XCTAssertEqual(
            try JSON.encodeString(small, sortedKeys: true, pretty: true),
            """
            {
              "a": [
                1,
                2
              ],
              "b": 1,
              "c": {
                "x": false,
                "y": true
              },
              "e": []
            }
            """)
        // Unsorted: declaration order, nil omitted.
        let one = Small(b: 1, a: [], c: ["k": true], d: "s", e: [0])
        XCTAssertEqual(try JSON.encodeString(one), #"{"b":1,"a":[],"c":{"k":true},"d":"s","e":[0]}"#)
        // Byte order: upper case before lower case, non-ASCII last.
        XCTAssertEqual(
            try JSON.encodeString(["b": 1, "a": 2, "B": 3, "é": 4, "a10": 5, "a9": 6], sortedKeys: true),
            #"{"B":3,"a":2,"a10":5,"a9":6,"b":1,"é":4}"#)
    }

    func testStringEscapingOutput() throws {
        XCTAssertEqual(
            try JSON.encodeString("a\"b\\c/d\n\t\r\u{8}\u{C}\u{1}\u{1F}\u{7F}é😀\u{2028}"),
            "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\u{7F}é😀\u{2028}\"")
        let all = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)
        XCTAssertEqual(try JSON.decode(String.self, from: try JSON.encode(all)), all)
    }

    func testFloatingPointOutput() throws {
        XCTAssertEqual(
            try JSON.encodeString([
                1.0, 0.1, -0.0, 1e20, 1e-7, 2.5, 1e300, .leastNonzeroMagnitude, 123456.0, -3.0, 1e16, 1e15,
            ]),
            "[1,0.1,-0,1e+20,1e-07,2.5,1e+300,5e-324,123456,-3,1e+16,1000000000000000]")
        XCTAssertEqual(
            try JSON.encodeString([Float(1.1), 3.4028235e38, .leastNonzeroMagnitude, 2]), "[1.1,3.4028235e+38,1e-45,2]")
        XCTAssertEqual(
            try JSON.decode([Double].self, from: "[1,0.1,-0,1e+20,1E-7,5e-324]"),
            [1, 0.1, -0.0, 1e20, 1e-7, .leastNonzeroMagnitude])
        XCTAssertEqual(try JSON.decode(Float.self, from: "0.1"), Float(0.1))
        XCTAssertEqual(try JSON.decode(Double.self, from: "1e-400"), 0)
    }

    func testNonFiniteIsAnEncodingError() {
        struct Box: Encodable { var x: Double; var y: [Float] }
        XCTAssertEqual(encodeFailure(Double.nan), "cannot encode nan: JSON has no NaN or infinity")
        XCTAssertEqual(encodeFailure(Box(x: .infinity, y: [])), "x: cannot encode inf: JSON has no NaN or infinity")
        XCTAssertEqual(
            encodeFailure(Box(x: 1, y: [1, -.infinity])), "y[1]: cannot encode -inf: JSON has no NaN or infinity")
        XCTAssertEqual(decodeFailure(Double.self, "1e400"), "number 1e400 does not fit in Double")
        XCTAssertEqual(decodeFailure([Float].self, "[1, 1e39]"), "[1]: number 1e39 does not fit in Float")
    }
}
