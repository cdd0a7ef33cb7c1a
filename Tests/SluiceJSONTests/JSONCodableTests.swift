import SluiceJSON
import XCTest

// Fixture types shared with the Foundation compatibility tests.

enum Transport: String, Codable, Equatable {
    case tcp, udp
}

enum Action: Codable, Equatable {
    case allow
    case deny(reason: String)
    case redirect(String, port: Int)
}

struct Limits: Codable, Equatable {
    var small: Int8
    var medium: Int32
    var huge: UInt64
    var negative: Int64
    var ratio: Float
    var unsigned: UInt
}

struct Endpoint: Codable, Equatable {
    var name: String
    var ipv4: String
    var port: UInt16
    var weight: Double?
    var tags: [String]
}

struct Policy: Codable, Equatable {
    var name: String
    var endpoints: [Endpoint]
    var transport: Transport
    var actions: [Action]
    var labels: [String: String]
    var ports: [Int: String]
    var optionals: [Int?]
    var nested: [[String: [Int]]]
    var limits: Limits?
    var enabled: Bool
    var note: String?

    static let sample = Policy(
        name: "web \"frontend\"\n\tπ 😀 \\ /",
        endpoints: [
            Endpoint(name: "a", ipv4: "10.0.0.1", port: 80, weight: 0.5, tags: ["x", "y"]),
            Endpoint(name: "b", ipv4: "10.0.0.2", port: 65535, weight: nil, tags: []),
        ],
        transport: .udp,
        actions: [.allow, .deny(reason: "no"), .redirect("proxy", port: 8080)],
        labels: ["app": "web", "tier": "front", "é": "\u{1}"],
        ports: [80: "http", 443: "https", -1: "none"],
        optionals: [1, nil, 3],
        nested: [["a": [1, 2]], [:], ["b": []]],
        limits: Limits(small: -128, medium: 2_147_483_647, huge: .max, negative: .min, ratio: 0.1, unsigned: 7),
        enabled: true,
        note: nil)
}

/// Encoding and decoding through `JSON`: round trips, exact output, and error messages with paths.
final class JSONCodableTests: XCTestCase {
    private func decodeFailure<T: Decodable>(_ type: T.Type, _ text: String) -> String? {
        do {
            _ = try JSON.decode(type, from: text)
            return nil
        } catch {
            return error.message
        }
    }

    private func encodeFailure<T: Encodable>(_ value: T) -> String? {
        do {
            _ = try JSON.encode(value)
            return nil
        } catch {
            return error.message
        }
    }

    func testRoundTripNestedTypes() throws {
        let bytes = try JSON.encode(Policy.sample)
        XCTAssertEqual(try JSON.decode(Policy.self, from: bytes), Policy.sample)
        let pretty = try JSON.encode(Policy.sample, sortedKeys: true, pretty: true)
        XCTAssertEqual(try JSON.decode(Policy.self, from: pretty), Policy.sample)
        XCTAssertEqual(try JSON.decode(Policy.self, from: try JSON.encodeString(Policy.sample)), Policy.sample)
    }

    func testRoundTripTopLevelValues() throws {
        XCTAssertEqual(try JSON.encodeString([1, nil, 3] as [Int?]), "[1,null,3]")
        XCTAssertEqual(try JSON.decode([Int?].self, from: "[1,null,3]"), [1, nil, 3])
        XCTAssertEqual(try JSON.decode([[String?]].self, from: #"[[null],["a",null]]"#), [[nil], ["a", nil]])
        XCTAssertEqual(try JSON.encodeString("x"), #""x""#)
        XCTAssertEqual(try JSON.decode(String.self, from: #" "x" "#), "x")
        XCTAssertEqual(try JSON.encodeString(Optional<Int>.none), "null")
        XCTAssertEqual(try JSON.decode(Int?.self, from: "null"), nil)
        XCTAssertEqual(try JSON.decode(Bool.self, from: "true"), true)
        XCTAssertEqual(try JSON.encodeString(Transport.tcp), #""tcp""#)
    }

    func testDictionariesAreObjects() throws {
        XCTAssertEqual(try JSON.encodeString([3: "c", 1: "a"], sortedKeys: true), #"{"1":"a","3":"c"}"#)
        XCTAssertEqual(try JSON.decode([Int: String].self, from: #"{"1":"a","-3":"c"}"#), [1: "a", -3: "c"])
        XCTAssertEqual(try JSON.encodeString(["b": [1], "a": []], sortedKeys: true), #"{"a":[],"b":[1]}"#)
        XCTAssertEqual(try JSON.decode([String: [Int]].self, from: #"{"a":[],"b":[1]}"#), ["a": [], "b": [1]])
        XCTAssertEqual(
            decodeFailure([Int: String].self, #"{"x":"a"}"#), "x: Expected Int key but found String key instead.")
    }

    func testEnumsWithAssociatedValues() throws {
        XCTAssertEqual(
            try JSON.encodeString(Policy.sample.actions, sortedKeys: true),
            #"[{"allow":{}},{"deny":{"reason":"no"}},{"redirect":{"_0":"proxy","port":8080}}]"#)
        XCTAssertEqual(
            decodeFailure(Transport.self, #""sctp""#), "Cannot initialize Transport from invalid String value sctp")
    }

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

    @available(macOS 15.0, *)
    func testInt128() throws {
        struct Wide: Codable, Equatable { var a: Int128; var b: UInt128 }
        let wide = Wide(a: .min, b: .max)
        let text = try JSON.encodeString(wide)
        XCTAssertEqual(
            text, #"{"a":-170141183460469231731687303715884105728,"b":340282366920938463463374607431768211455}"#)
        XCTAssertEqual(try JSON.decode(Wide.self, from: text), wide)
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

    func testTrailingGarbageAndSyntaxErrorsThroughDecode() {
        XCTAssertEqual(decodeFailure([Int].self, "[1] [2]"), "line 1 column 5: unexpected '[' after the value")
        XCTAssertEqual(decodeFailure([Int].self, "[1,]"), "line 1 column 4: trailing comma before ']'")
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

    func testTypesOwnErrorsGetTheirPath() {
        struct BadAddress: Error, CustomStringConvertible {
            var text: String
            var description: String { "invalid IPv4 address \"\(text)\"" }
        }
        struct IPv4: Decodable {
            init(from decoder: any Decoder) throws {
                let text = try decoder.singleValueContainer().decode(String.self)
                guard text.split(separator: ".").count == 4 else { throw BadAddress(text: text) }
            }
        }
        struct Host: Decodable { var ipv4: IPv4 }
        struct Hosts: Decodable { var endpoints: [Host] }
        XCTAssertEqual(
            decodeFailure(Hosts.self, #"{"endpoints":[{"ipv4":"1.2.3.4"},{"ipv4":"nope"}]}"#),
            #"endpoints[1].ipv4: invalid IPv4 address "nope""#)
        XCTAssertEqual(decodeFailure(IPv4.self, #""nope""#), #"invalid IPv4 address "nope""#)
    }
}
