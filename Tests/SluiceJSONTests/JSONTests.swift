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

/// The message of the error decoding `text` as a `T` throws; nil when it decodes.
func decodeFailure<T: Decodable>(_ type: T.Type, _ text: String) -> String? {
    do {
        _ = try JSON.decode(type, from: text)
        return nil
    } catch {
        return error.message
    }
}

/// The message of the error encoding `value` throws; nil when it encodes.
func encodeFailure<T: Encodable>(_ value: T) -> String? {
    do {
        _ = try JSON.encode(value)
        return nil
    } catch {
        return error.message
    }
}

/// `JSON`, the entry point: round trips of nested and top-level values, dictionaries and enums,
/// and the errors it reports (syntax positions, coding paths of a type's own errors).
final class JSONTests: XCTestCase {
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

    @available(macOS 15.0, *)
    func testInt128() throws {
        struct Wide: Codable, Equatable { var a: Int128; var b: UInt128 }
        let wide = Wide(a: .min, b: .max)
        let text = try JSON.encodeString(wide)
        XCTAssertEqual(
            text, #"{"a":-170141183460469231731687303715884105728,"b":340282366920938463463374607431768211455}"#)
        XCTAssertEqual(try JSON.decode(Wide.self, from: text), wide)
    }

    func testTrailingGarbageAndSyntaxErrorsThroughDecode() {
        XCTAssertEqual(decodeFailure([Int].self, "[1] [2]"), "line 1 column 5: unexpected '[' after the value")
        XCTAssertEqual(decodeFailure([Int].self, "[1,]"), "line 1 column 4: trailing comma before ']'")
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
