import Foundation
import PolicyYAML
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Policy

/// SluiceJSON (the agent's decoder) converts node trees directly from the parsed value
/// (`PolicyNode(json:)`); Foundation's decoder goes through the Codable containers. Both must
/// give the same trees and refuse the same shapes.
final class PolicyNodeJSONTests: XCTestCase {
    func testEveryExampleDecodesAsThroughTheContainers() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: Fixtures.examples.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThan(files.count, 20)
        for file in files {
            let nodes = try PolicyYAML.documents(try Fixtures.example(file), fileName: file)
            let bytes = try JSON.encode(nodes)
            XCTAssertEqual(try JSON.decode([PolicyNode].self, from: bytes), nodes, file)
            XCTAssertEqual(try JSONDecoder().decode([PolicyNode].self, from: Data(bytes)), nodes, file)
        }
    }

    /// `appendJSON` writes exactly what `JSON.encode` writes, for every example and for scalars
    /// with every byte that needs an escape, quotes, non-ASCII and marks of any size.
    func testAppendJSONWritesTheBytesOfJSONEncode() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: Fixtures.examples.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        var nodes: [PolicyNode] = []
        for file in files { nodes += try PolicyYAML.documents(try Fixtures.example(file), fileName: file) }
        var tricky = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        tricky += "\"/\\ é 😀 \u{7f}"
        nodes.append(.scalar(tricky, plain: false, line: 123_456, column: 7))
        nodes.append(.mapping([(.scalar(""), .sequence([]))], line: 0, column: 0))
        nodes.append(.sequence([.mapping([]), .scalar("x", plain: true)], line: 1, column: 99))
        XCTAssertGreaterThan(nodes.count, 20)
        for node in nodes {
            var direct: [UInt8] = []
            node.appendJSON(to: &direct)
            XCTAssertEqual(String(decoding: direct, as: UTF8.self), try JSON.encodeString(node))
            XCTAssertEqual(try JSON.decode(PolicyNode.self, from: direct), node)
        }
        var text: [UInt8] = []
        JSON.appendEscapedString(tricky, to: &text)
        XCTAssertEqual(String(decoding: text, as: UTF8.self), try JSON.encodeString(tricky))
    }

    /// `nodes(json:at:)` reads the encoder's output to the same trees, stops after the array,
    /// and whatever it accepts of a corrupted array SluiceJSON decodes to the same trees.
    func testNodesReadStraightFromJSONAreSluiceJSONsTrees() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: Fixtures.examples.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        var encoded: [[UInt8]] = []
        for file in files {
            let nodes = try PolicyYAML.documents(try Fixtures.example(file), fileName: file)
            let bytes = try JSON.encode(nodes) + Array(" ,x".utf8)
            var index = 0
            let read = bytes.withUnsafeBytes { PolicyNode.nodes(json: $0, at: &index) }
            XCTAssertEqual(read, nodes, file)
            XCTAssertEqual(index, bytes.count - 3, file)
            encoded.append(try JSON.encode(nodes))
        }
        var random = SeededRandom(seed: 0x0D_E5_19)
        let alphabet = Array(#"[]{}",:\/0123456789-.eE pmslu"#.utf8) + [0x0A, 0x00, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<4000 {
            var bytes = encoded[Int.random(in: 0..<encoded.count, using: &random)]
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.remove(at: at)
                default: bytes.insert(bytes[at], at: at)
                }
            }
            var index = 0
            guard let read = bytes.withUnsafeBytes({ PolicyNode.nodes(json: $0, at: &index) }) else { continue }
            let whole = index == bytes.count
            if whole {
                accepted += 1
                XCTAssertEqual(
                    try? JSON.decode([PolicyNode].self, from: bytes), read, String(decoding: bytes, as: UTF8.self))
            }
        }
        XCTAssertGreaterThan(accepted, 100)
    }

    func testMalformedShapesAreRefusedLikeTheContainersRefuseThem() {
        let malformed = [
            #"[]"#, #""p""#, #"{}"#, #"null"#, #"5"#,
            #"["p"]"#, #"["p",1]"#, #"["p",1,1]"#, #"["p",1,1,"a","b"]"#, #"["s",1,1,null]"#, #"["p",1,1,5]"#,
            #"["x",1,1,"a"]"#, #"[1,1,1,"a"]"#, #"["p","1",1,"a"]"#, #"["p",1.5,1,"a"]"#, #"["p",-1,1,"a"]"#,
            #"["p",1,-2,"a"]"#, #"["m",1,1,["p",1,1,"k"]]"#, #"["m",1,1,"k","v"]"#,
            #"["m",1,1,["p",1,1,"k"],["zz",1,1]]"#, #"["l",1,1,5]"#, #"["l",1,1,["l",1,1,[]]]"#,
            #"["m",1,1,["p",1,1,"k"],{"p":1}]"#, #"["l",null,1]"#,
            #"["p",99999999999999999999,1,"a"]"#,
        ]
        for json in malformed {
            XCTAssertThrowsError(try JSON.decode(PolicyNode.self, from: json), json)
            XCTAssertThrowsError(try JSONDecoder().decode(PolicyNode.self, from: Data(json.utf8)), json)
        }
        XCTAssertEqual(try JSON.decode(PolicyNode.self, from: #"["m",0,0]"#), .mapping([]))
        XCTAssertEqual(
            try JSON.decode(PolicyNode.self, from: #"["l",3,4,["p",0,0,""],["s",0,0,"x"]]"#),
            .sequence([.scalar(""), .scalar("x", plain: false)], line: 3, column: 4))
    }
}
