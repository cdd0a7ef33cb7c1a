import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

/// Byte fixtures through `JSONValue.parse`: what is accepted, and the message for each rejection.
final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws(JSONError) -> JSONValue {
        try JSONValue.parse(Array(text.utf8))
    }

    /// The error message for `bytes`, or nil if they parse.
    private func failure(_ bytes: [UInt8]) -> String? {
        do {
            _ = try JSONValue.parse(bytes)
            return nil
        } catch {
            return error.message
        }
    }

    private func failure(_ text: String) -> String? { failure(Array(text.utf8)) }

    func testValidDocument() throws {
        let value = try parse(
            " \r\n\t{\"a\": [1, -2.5e+3, 0, -0, 1E2, 0.25E-1, true, false, null, \"x\"], \"b\": {}, \"c\": []} \n")
        XCTAssertEqual(
            value,
            .object([
                (
                    "a",
                    .array([
                        .number("1"), .number("-2.5e+3"), .number("0"), .number("-0"), .number("1E2"),
                        .number("0.25E-1"), .bool(true), .bool(false), .null, .string("x"),
                    ])
                ),
                ("b", .object([])),
                ("c", .array([])),
            ]))
    }

    func testTopLevelScalars() throws {
        XCTAssertEqual(try parse("42"), .number("42"))
        XCTAssertEqual(try parse(" \"s\" "), .string("s"))
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("-0.5e-7"), .number("-0.5e-7"))
    }

    /// The one-letter escapes both JSON readers share (this parser and PolicyNode's).
    func testUnescapedLetters() {
        let letters = Array("\"\\/bfnrt".utf8)
        XCTAssertEqual(letters.map { JSON.unescaped($0) }, [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09])
        for letter in Array("u'xN0 ".utf8) + [0x00, 0x7F, 0xC3] { XCTAssertNil(JSON.unescaped(letter)) }
    }

    func testEscapes() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00\u0000""#
        XCTAssertEqual(try parse(text), .string("\"\\/\u{8}\u{C}\n\r\tAé€😀\u{0}"))
        XCTAssertEqual(
            try parse(#"["a\nb", "plain", "\u002F"]"#), .array([.string("a\nb"), .string("plain"), .string("/")]))
    }

    func testRawUTF8AndByteOrderMark() throws {
        XCTAssertEqual(try parse("\"é€😀\""), .string("é€😀"))
        XCTAssertEqual(try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)), .array([.number("1")]))
    }

    func testObjectsKeepOrderAndDuplicates() throws {
        XCTAssertEqual(
            try parse(#"{"z":1,"a":2,"z":3}"#),
            .object([("z", .number("1")), ("a", .number("2")), ("z", .number("3"))]))
        XCTAssertNotEqual(try parse(#"{"a":1,"b":2}"#), try parse(#"{"b":2,"a":1}"#))
        XCTAssertNotEqual(JSONValue.number("1"), .number("1.0"))
    }

    func testSyntaxErrors() {
        XCTAssertEqual(failure(""), "line 1 column 1: expected a value, found end of input")
        XCTAssertEqual(failure("   "), "line 1 column 4: expected a value, found end of input")
        XCTAssertEqual(failure("[1,]"), "line 1 column 4: trailing comma before ']'")
        XCTAssertEqual(failure(#"{"a":1,}"#), "line 1 column 8: trailing comma before '}'")
        XCTAssertEqual(failure("[1 2]"), "line 1 column 4: expected ',' or ']', found '2'")
        XCTAssertEqual(failure("[1"), "line 1 column 3: expected ',' or ']', found end of input")
        XCTAssertEqual(failure(#"{"a" 1}"#), "line 1 column 6: expected ':', found '1'")
        XCTAssertEqual(failure(#"{"a":1 "b":2}"#), "line 1 column 8: expected ',' or '}', found '\"'")
        XCTAssertEqual(failure("{1:2}"), "line 1 column 2: expected a string key, found '1'")
        XCTAssertEqual(failure("[,1]"), "line 1 column 2: expected a value, found ','")
        XCTAssertEqual(failure("tru"), "line 1 column 1: expected a value, found 't'")
        XCTAssertEqual(failure("nul"), "line 1 column 1: expected a value, found 'n'")
        XCTAssertEqual(failure("'a'"), "line 1 column 1: expected a value, found '''")
        XCTAssertEqual(failure("// comment\n1"), "line 1 column 1: expected a value, found '/'")
    }

    func testTrailingGarbage() {
        XCTAssertEqual(failure("1 2"), "line 1 column 3: unexpected '2' after the value")
        XCTAssertEqual(failure("[1]]"), "line 1 column 4: unexpected ']' after the value")
        XCTAssertEqual(failure("{} x"), "line 1 column 4: unexpected 'x' after the value")
        XCTAssertEqual(failure([0x31, 0x00]), "line 1 column 2: unexpected byte 0x00 after the value")
    }

    func testNumberErrors() {
        XCTAssertEqual(failure("01"), "line 1 column 2: leading zeros are not allowed")
        XCTAssertEqual(failure("-012"), "line 1 column 3: leading zeros are not allowed")
        XCTAssertEqual(failure("[00]"), "line 1 column 3: leading zeros are not allowed")
        XCTAssertEqual(failure("1."), "line 1 column 3: expected a digit after '.', found end of input")
        XCTAssertEqual(failure("1.e5"), "line 1 column 3: expected a digit after '.', found 'e'")
        XCTAssertEqual(failure("1e"), "line 1 column 3: expected a digit in the exponent, found end of input")
        XCTAssertEqual(failure("1e+"), "line 1 column 4: expected a digit in the exponent, found end of input")
        XCTAssertEqual(failure("-"), "line 1 column 2: expected a digit, found end of input")
        XCTAssertEqual(failure("-a"), "line 1 column 2: expected a digit, found 'a'")
        XCTAssertEqual(failure(".5"), "line 1 column 1: expected a value, found '.'")
        XCTAssertEqual(failure("+1"), "line 1 column 1: expected a value, found '+'")
        XCTAssertEqual(failure("0x10"), "line 1 column 2: unexpected 'x' after the value")
    }

    func testNaNAndInfinity() {
        XCTAssertEqual(failure("NaN"), "line 1 column 1: NaN and Infinity are not valid JSON")
        XCTAssertEqual(failure("Infinity"), "line 1 column 1: NaN and Infinity are not valid JSON")
        XCTAssertEqual(failure("[1, -Infinity]"), "line 1 column 5: NaN and Infinity are not valid JSON")
        XCTAssertEqual(failure("Nope"), "line 1 column 1: expected a value, found 'N'")
    }

    func testStringErrors() {
        XCTAssertEqual(failure("\"abc"), "line 1 column 1: unterminated string")
        XCTAssertEqual(failure("[\"abc\\"), "line 1 column 2: unterminated string")
        XCTAssertEqual(failure("\"a\nb\""), "line 1 column 3: control character U+000A must be escaped in a string")
        XCTAssertEqual(failure("\"a\tb\""), "line 1 column 3: control character U+0009 must be escaped in a string")
        XCTAssertEqual(
            failure([0x22, 0x01, 0x22]), "line 1 column 2: control character U+0001 must be escaped in a string")
        XCTAssertEqual(failure(#""\x""#), #"line 1 column 2: invalid escape '\x'"#)
        XCTAssertEqual(failure(#""\'""#), #"line 1 column 2: invalid escape '\''"#)
        XCTAssertEqual(failure(#""\u12""#), #"line 1 column 2: invalid \u escape"#)
        XCTAssertEqual(failure(#""\u12G4""#), #"line 1 column 2: invalid \u escape"#)
    }

    func testSurrogates() throws {
        XCTAssertEqual(try parse(#""\uD834\uDD1E""#), .string("\u{1D11E}"))
        XCTAssertEqual(failure(#""\ud800""#), #"line 1 column 2: unpaired surrogate \uD800"#)
        XCTAssertEqual(failure(#""ab\ud800x""#), #"line 1 column 4: unpaired surrogate \uD800"#)
        XCTAssertEqual(failure(#""\udc00\ud800""#), #"line 1 column 2: unpaired surrogate \uDC00"#)
        XCTAssertEqual(failure(#""\ud800\u0041""#), #"line 1 column 2: unpaired surrogate \uD800"#)
        XCTAssertEqual(failure(#""\ud800\ud800""#), #"line 1 column 2: unpaired surrogate \uD800"#)
        XCTAssertEqual(failure(#""\ud800\n""#), #"line 1 column 2: unpaired surrogate \uD800"#)
    }

    func testInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong, 3 bytes
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8-encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // past U+10FFFF
            [0x22, 0xE2, 0x82, 0x22],  // truncated
            [0x22, 0xE2, 0x82],  // truncated at the end of input
        ]
        for bytes in cases {
            XCTAssertEqual(failure(bytes), "line 1 column 2: invalid UTF-8", "\(bytes)")
        }
        XCTAssertEqual(failure([0xC3, 0xA9]), "line 1 column 1: expected a value, found byte 0xC3")
    }

    func testLinesAndColumns() {
        XCTAssertEqual(failure("{\n  \"a\": 1,\n  \"b\" 2\n}"), "line 3 column 7: expected ':', found '2'")
        // Columns count characters, not bytes.
        XCTAssertEqual(failure("[\"é€\", x]"), "line 1 column 8: expected a value, found 'x'")
        XCTAssertEqual(failure("[1,\r\n2,\r\n]"), "line 3 column 1: trailing comma before ']'")
    }

    func testNestingLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try parse(ok))
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        XCTAssertEqual(failure(tooDeep), "line 1 column 513: nesting deeper than 512 levels")
        let objects = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        XCTAssertEqual(failure(objects), "line 1 column 2561: nesting deeper than 512 levels")
    }

    func testDeepNestingIsAnErrorNotACrash() throws {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 10_000)
        XCTAssertEqual(failure(bytes), "line 1 column 513: nesting deeper than 512 levels")
        let closed = bytes + [UInt8](repeating: UInt8(ascii: "]"), count: 10_000)
        XCTAssertEqual(failure(closed), "line 1 column 513: nesting deeper than 512 levels")
        XCTAssertThrowsError(try JSON.decode([JSONNest].self, from: closed))
        // The deepest document allowed also decodes (recursively) without trouble.
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        var nest = try JSON.decode(JSONNest.self, from: deepest)
        var depth = 1
        while let child = nest.children.first {
            nest = child
            depth += 1
        }
        XCTAssertEqual(depth, 512)
        XCTAssertEqual(try JSON.encode(try JSON.decode(JSONNest.self, from: deepest)), Array(deepest.utf8))
    }

    /// Mutations of a valid document, each judged against an independent parser: Foundation's
    /// JSONSerialization must accept exactly what ours accepts, and read the same value. Every
    /// outcome must be reached often, or the mutations exercised little.
    func testMutatedDocumentsAgreeWithFoundation() {
        let seed = Array(#"{"a":[1,-2.5e+3,true,null,"x\u00e9\ud83d\ude00y"],"b":{"c":"é"},"d":0.5}"#.utf8)
        var generator = SeededRandom(seed: 0x5EED_7501)
        var accepted = 0, rejected = 0
        for iteration in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                }
                if bytes.isEmpty { break }
            }
            let ours = try? JSONValue.parse(bytes)
            let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            let context = "iteration \(iteration): \(String(decoding: bytes, as: UTF8.self).debugDescription)"
            XCTAssertEqual(ours != nil, theirs != nil, "accepted by one parser only: \(context)")
            if let ours, let theirs {
                accepted += 1
                XCTAssertTrue(Self.same(ours, theirs), "different values: \(context)")
            } else if ours == nil {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(accepted, 500, "mutations that stay valid")
        XCTAssertGreaterThan(rejected, 5000, "mutations that break the document")
    }

    /// Whether our value and Foundation's are the same JSON value (numbers by their double value,
    /// objects by key with the last duplicate winning, as Foundation keeps them).
    private static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case .bool(let b): return (theirs as? NSNumber)?.boolValue == b
        case .number(let text):
            guard let n = theirs as? NSNumber, let d = Double(text) else { return false }
            return n.doubleValue == d
        case .string(let s): return (theirs as? String) == s
        case .array(let items):
            guard let list = theirs as? [Any], list.count == items.count else { return false }
            return zip(items, list).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let dict = theirs as? [String: Any] else { return false }
            var last: [String: JSONValue] = [:]
            for (k, v) in members { last[k] = v }
            return last.count == dict.count && last.allSatisfy { k, v in dict[k].map { same(v, $0) } ?? false }
        }
    }
}

/// Arbitrarily nested arrays, for decoding deep input.
private struct JSONNest: Codable {
    var children: [JSONNest]
    init(from decoder: any Decoder) throws {
        children = try [JSONNest](from: decoder)
    }
    func encode(to encoder: any Encoder) throws {
        try children.encode(to: encoder)
    }
}
