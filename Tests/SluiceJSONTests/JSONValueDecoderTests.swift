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
}
