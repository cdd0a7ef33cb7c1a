import SluiceJSON
import XCTest

/// Hand-written Codable implementations: nested containers, super encoders/decoders, decodeNil
/// and coding paths as the containers report them.
final class JSONContainerTests: XCTestCase {
    /// Flattens and nests by hand: {"id":1,"info":{"names":["a","b"],"pairs":[[1,2]]},"extra":null}
    struct Manual: Codable, Equatable {
        var id: Int
        var names: [String]
        var pairs: [[Int]]
        var extra: Int?

        enum Keys: String, CodingKey { case id, info, extra }
        enum InfoKeys: String, CodingKey { case names, pairs }

        init(id: Int, names: [String], pairs: [[Int]], extra: Int?) {
            (self.id, self.names, self.pairs, self.extra) = (id, names, pairs, extra)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            id = try container.decode(Int.self, forKey: .id)
            let info = try container.nestedContainer(keyedBy: InfoKeys.self, forKey: .info)
            XCTAssertEqual(info.codingPath.map(\.stringValue), ["info"])
            var names = try info.nestedUnkeyedContainer(forKey: .names)
            self.names = []
            while !names.isAtEnd { self.names.append(try names.decode(String.self)) }
            var pairs = try info.nestedUnkeyedContainer(forKey: .pairs)
            self.pairs = []
            while !pairs.isAtEnd {
                var pair = try pairs.nestedUnkeyedContainer()
                XCTAssertEqual(pair.count, 2)
                self.pairs.append([try pair.decode(Int.self), try pair.decode(Int.self)])
            }
            extra = try container.decodeNil(forKey: .extra) ? nil : try container.decode(Int.self, forKey: .extra)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id, forKey: .id)
            var info = container.nestedContainer(keyedBy: InfoKeys.self, forKey: .info)
            var names = info.nestedUnkeyedContainer(forKey: .names)
            for name in self.names { try names.encode(name) }
            var pairs = info.nestedUnkeyedContainer(forKey: .pairs)
            for pair in self.pairs {
                var nested = pairs.nestedUnkeyedContainer()
                for value in pair { try nested.encode(value) }
            }
            if let extra {
                try container.encode(extra, forKey: .extra)
            } else {
                try container.encodeNil(forKey: .extra)
            }
        }
    }

    func testNestedContainers() throws {
        let value = Manual(id: 1, names: ["a", "b"], pairs: [[1, 2], [3, 4]], extra: nil)
        let text = try JSON.encodeString(value)
        XCTAssertEqual(text, #"{"id":1,"info":{"names":["a","b"],"pairs":[[1,2],[3,4]]},"extra":null}"#)
        XCTAssertEqual(try JSON.decode(Manual.self, from: text), value)
        let withExtra = Manual(id: 2, names: [], pairs: [], extra: 5)
        XCTAssertEqual(try JSON.decode(Manual.self, from: try JSON.encode(withExtra)), withExtra)
    }

    class Animal: Codable {
        var legs: Int
        init(legs: Int) { self.legs = legs }
    }

    final class Dog: Animal {
        var name: String
        enum Keys: CodingKey { case name, base }
        init(name: String, legs: Int) {
            self.name = name
            super.init(legs: legs)
        }
        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            name = try container.decode(String.self, forKey: .name)
            try super.init(from: container.superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(name, forKey: .name)
            try super.encode(to: container.superEncoder())
        }
    }

    func testSuperEncoderAndDecoder() throws {
        let text = try JSON.encodeString(Dog(name: "rex", legs: 4))
        XCTAssertEqual(text, #"{"name":"rex","super":{"legs":4}}"#)
        let dog = try JSON.decode(Dog.self, from: text)
        XCTAssertEqual(dog.name, "rex")
        XCTAssertEqual(dog.legs, 4)
        XCTAssertEqual(try? JSON.decode(Dog.self, from: #"{"name":"rex"}"#).legs, nil)
        do {
            _ = try JSON.decode(Dog.self, from: #"{"name":"rex","super":{"legs":"4"}}"#)
            XCTFail("decoded a string as Int")
        } catch {
            XCTAssertEqual(error.message, "super.legs: expected a number, found a string")
        }
    }

    /// Super encoders by key and in arrays, filled after the container was handed out.
    struct Supers: Codable, Equatable {
        var a: Int
        var b: [String]
        enum Keys: CodingKey { case base, list }
        init(a: Int, b: [String]) { (self.a, self.b) = (a, b) }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            let base = container.superEncoder(forKey: .base)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            let first = list.superEncoder()
            try list.encode("end")
            var single = base.singleValueContainer()
            try single.encode(a)
            try b.encode(to: first)
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            a = try Int(from: container.superDecoder(forKey: .base))
            var list = try container.nestedUnkeyedContainer(forKey: .list)
            b = try [String](from: list.superDecoder())
            XCTAssertEqual(try list.decode(String.self), "end")
        }
    }

    func testSuperEncodersFilledLater() throws {
        let value = Supers(a: 7, b: ["x"])
        let text = try JSON.encodeString(value)
        XCTAssertEqual(text, #"{"base":7,"list":[["x"],"end"]}"#)
        XCTAssertEqual(try JSON.decode(Supers.self, from: text), value)
    }

    func testCodingPathsSeenByContainers() throws {
        struct Probe: Decodable {
            static var seen: [String] = []
            init(from decoder: any Decoder) throws {
                Probe.seen.append(decoder.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined())
                _ = try? decoder.singleValueContainer().decodeNil()
            }
        }
        struct Outer: Decodable { var inner: [String: [Probe]] }
        Probe.seen = []
        _ = try JSON.decode(Outer.self, from: #"{"inner":{"k":[1,2]}}"#)
        XCTAssertEqual(Probe.seen, ["innerk[0]", "innerk[1]"])
    }

    func testUnkeyedDecodeNil() throws {
        struct Sparse: Decodable, Equatable {
            var values: [Int]
            init(values: [Int]) { self.values = values }
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                values = []
                while !container.isAtEnd {
                    if try container.decodeNil() { continue }
                    values.append(try container.decode(Int.self))
                }
                XCTAssertEqual(container.currentIndex, container.count)
            }
        }
        XCTAssertEqual(try JSON.decode(Sparse.self, from: "[null,1,null,null,2]"), Sparse(values: [1, 2]))
    }

    func testEncodingAKeyTwiceKeepsTheLastValue() throws {
        struct Twice: Encodable {
            enum Keys: CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encode(2, forKey: .b)
                try container.encode(3, forKey: .a)
            }
        }
        XCTAssertEqual(try JSON.encodeString(Twice()), #"{"a":3,"b":2}"#)
        // Big objects use an index for the same rule.
        let many = Dictionary(uniqueKeysWithValues: (0..<100).map { ("k\($0)", $0) })
        let decoded = try JSON.decode([String: Int].self, from: try JSON.encode(many))
        XCTAssertEqual(decoded, many)
    }

    func testEmptyValues() throws {
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        struct Empty: Codable, Equatable {}
        XCTAssertEqual(try JSON.encodeString([Nothing()]), "[{}]")
        XCTAssertEqual(try JSON.encodeString(Empty()), "{}")
        XCTAssertEqual(try JSON.decode(Empty.self, from: #"{"ignored":[1]}"#), Empty())
        do {
            _ = try JSON.encode(Nothing())
            XCTFail("encoded nothing")
        } catch {
            XCTAssertEqual(error.message, "top-level Nothing did not encode any values")
        }
    }
}
