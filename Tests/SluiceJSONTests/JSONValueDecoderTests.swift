import XCTest

@testable import SluiceJSON

final class JSONValueDecoderTests: XCTestCase {
    /// Reads its value straight from the decoder, at every level it is nested at.
    private struct Raw: Decodable {
        var value: JSONValue
        init(from decoder: any Decoder) throws {
            guard let direct = decoder as? any JSONValueDecoder else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a JSONValueDecoder"))
            }
            value = direct.jsonValue
        }
    }

    private struct Outer: Decodable {
        var a: Raw
        var b: [Raw]
    }

    func testDecodersHandOutTheValueTheyDecode() throws {
        let top = try JSON.decode(Raw.self, from: #"{"x":[1,"y"]}"#)
        XCTAssertEqual(top.value, .object([("x", .array([.number("1"), .string("y")]))]))
        let nested = try JSON.decode(Outer.self, from: #"{"a":"s","b":[true,null]}"#)
        XCTAssertEqual(nested.a.value, .string("s"))
        XCTAssertEqual(nested.b.map(\.value), [.bool(true), .null])
    }

    /// Gives its value to the encoder whole, nested at any level.
    private struct Whole: Encodable {
        var value: JSONValue
        func encode(to encoder: any Encoder) throws {
            guard let direct = encoder as? any JSONValueEncoder else {
                throw EncodingError.invalidValue(
                    value, .init(codingPath: [], debugDescription: "not a JSONValueEncoder"))
            }
            direct.encode(jsonValue: value)
        }
    }

    private struct Holder: Encodable {
        var a: Whole
        var b: [Whole]
    }

    func testEncodersTakeAWholeValue() throws {
        let value = JSONValue.array([.number("1"), .string("y"), .object([("k", .null)])])
        XCTAssertEqual(String(decoding: try JSON.encode(Whole(value: value)), as: UTF8.self), #"[1,"y",{"k":null}]"#)
        let nested = Holder(a: Whole(value: .bool(true)), b: [Whole(value: .string("s"))])
        XCTAssertEqual(String(decoding: try JSON.encode(nested), as: UTF8.self), #"{"a":true,"b":["s"]}"#)
    }
}
