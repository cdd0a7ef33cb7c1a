import SluiceJSON
import XCTest

/// The decoder: integer ranges, type mismatches and missing keys with their coding paths,
/// optional keys, duplicate keys and unkeyed containers running out.
final class JSONDecoderTests: XCTestCase {
    func testIntegerRanges() throws {
        XCTAssertEqual(
            try JSON.decode([Int64].self, from: "[-9223372036854775808,9223372036854775807,-0]"),
            [.min, .max, 0])
        XCTAssertEqual(try JSON.decode(UInt64.self, from: "18446744073709551615"), .max)
        XCTAssertEqual(try JSON.decode([Int8].self, from: "[-128,127]"), [-128, 127])
        XCTAssertEqual(try JSON.decode(UInt.self, from: "-0"), 0)
        XCTAssertEqual(
            decodeFailure(Int64.self, "9223372036854775808"), "number 9223372036854775808 does not fit in Int64")
        XCTAssertEqual(
            decodeFailure(UInt64.self, "18446744073709551616"), "number 18446744073709551616 does not fit in UInt64")
        XCTAssertEqual(decodeFailure([Int8].self, "[1, -129]"), "[1]: number -129 does not fit in Int8")
        XCTAssertEqual(
            decodeFailure(Int.self, "100000000000000000000000000000"),
            "number 100000000000000000000000000000 does not fit in Int")
    }

    func testIntegerErrorsNameThePath() {
        let limits = #"{"small":300,"medium":1,"huge":1,"negative":1,"ratio":1,"unsigned":1}"#
        XCTAssertEqual(decodeFailure(Limits.self, limits), "small: number 300 does not fit in Int8")
        struct Item: Decodable { var v: UInt }
        struct Items: Decodable { var items: [Item] }
        XCTAssertEqual(
            decodeFailure(Items.self, #"{"items":[{"v":1},{"v":-1}]}"#), "items[1].v: number -1 does not fit in UInt")
        XCTAssertEqual(
            decodeFailure(Items.self, #"{"items":[{"v":1.0}]}"#), "items[0].v: expected an integer, found 1.0")
        XCTAssertEqual(
            decodeFailure(Items.self, #"{"items":[{"v":1e2}]}"#), "items[0].v: expected an integer, found 1e2")
        XCTAssertEqual(
            decodeFailure(Items.self, #"{"items":[{"v":"1"}]}"#), "items[0].v: expected a number, found a string")
    }

    func testTypeMismatchAndMissingKeys() {
        XCTAssertEqual(
            decodeFailure(Policy.self, #"{"name":"p","endpoints":[{},{},{"ipv4":1}]}"#),
            #"endpoints[0]: missing key "name""#)
        let third = #"{"name":"c","ipv4":1,"port":1,"tags":[]}"#
        let good = #"{"name":"c","ipv4":"x","port":1,"tags":[]}"#
        XCTAssertEqual(
            decodeFailure([Endpoint].self, "[\(good),\(good),\(third)]"), "[2].ipv4: expected a string, found a number")
        struct Metadata: Decodable { var name: String }
        struct Object: Decodable { var metadata: Metadata }
        XCTAssertEqual(decodeFailure(Object.self, #"{"metadata":{}}"#), #"metadata: missing key "name""#)
        XCTAssertEqual(decodeFailure(Object.self, #"{"metadata":null}"#), "metadata: expected an object, found null")
        XCTAssertEqual(
            decodeFailure(Object.self, #"{"metadata":{"name":null}}"#), "metadata.name: expected a string, found null")
        XCTAssertEqual(decodeFailure(Object.self, "[]"), "expected an object, found an array")
        XCTAssertEqual(decodeFailure([Int].self, #"{"a":1}"#), "expected an array, found an object")
        XCTAssertEqual(decodeFailure(Bool.self, "1"), "expected a boolean, found a number")
    }

    func testDecodeIfPresentAndEncodeIfPresent() throws {
        struct Maybe: Codable, Equatable { var a: Int?; var b: String?; var c: [Int]? }
        XCTAssertEqual(try JSON.decode(Maybe.self, from: "{}"), Maybe(a: nil, b: nil, c: nil))
        XCTAssertEqual(
            try JSON.decode(Maybe.self, from: #"{"a":null,"b":null,"c":null}"#), Maybe(a: nil, b: nil, c: nil))
        XCTAssertEqual(try JSON.decode(Maybe.self, from: #"{"a":1,"c":[2]}"#), Maybe(a: 1, b: nil, c: [2]))
        XCTAssertEqual(decodeFailure(Maybe.self, #"{"b":1}"#), "b: expected a string, found a number")
        XCTAssertEqual(decodeFailure(Maybe.self, #"{"c":[true]}"#), "c[0]: expected a number, found a boolean")
        XCTAssertEqual(try JSON.encodeString(Maybe(a: nil, b: "x", c: nil)), #"{"b":"x"}"#)
        XCTAssertEqual(try JSON.encodeString(Maybe(a: nil, b: nil, c: nil)), "{}")
    }

    func testDuplicateKeysFirstWins() throws {
        struct One: Decodable { var x: Int }
        XCTAssertEqual(try JSON.decode(One.self, from: #"{"x":1,"x":2}"#).x, 1)
        XCTAssertEqual(try JSON.decode([String: Int].self, from: #"{"x":1,"x":2,"y":3}"#), ["x": 1, "y": 3])
        // Big objects use an index; same rule.
        let members = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let big = try JSON.decode([String: Int].self, from: "{\(members),\"k5\":99}")
        XCTAssertEqual(big.count, 40)
        XCTAssertEqual(big["k5"], 5)
        XCTAssertEqual(big["k39"], 39)
    }

    func testUnkeyedContainerAtEnd() {
        struct Pair: Decodable {
            var a: Int, b: Int
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                a = try container.decode(Int.self)
                b = try container.decode(Int.self)
            }
        }
        XCTAssertEqual(decodeFailure(Pair.self, "[1]"), "[1]: expected a value, found the end of the array")
        XCTAssertEqual(decodeFailure([Pair].self, "[[1,2],[3,true]]"), "[1][1]: expected a number, found a boolean")
    }
}
