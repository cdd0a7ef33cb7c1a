import Foundation
import PolicyYAML
import SluiceJSON
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
