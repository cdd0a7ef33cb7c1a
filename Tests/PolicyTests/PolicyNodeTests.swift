import Foundation
import PolicyYAML
import XCTest

@testable import Policy

/// The CLI sends `PolicyNode` trees (built by `PolicyYAML`) to the agent, which stores them too:
/// the encoded trees must give the agent exactly what parsing the YAML gives.
final class PolicyNodeTests: XCTestCase {
    private func roundTrip(_ nodes: [PolicyNode]) throws -> [PolicyNode] {
        try JSONDecoder().decode([PolicyNode].self, from: JSONEncoder().encode(nodes))
    }

    private func decode(_ json: String) throws -> PolicyNode {
        try JSONDecoder().decode(PolicyNode.self, from: Data(json.utf8))
    }

    /// Every example file: same nodes after the trip, and the same documents and warnings.
    func testEveryExampleRoundTrips() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: Fixtures.examples.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThan(files.count, 20)
        for file in files {
            let nodes = try PolicyYAML.documents(try Fixtures.example(file), fileName: file)
            let decoded = try roundTrip(nodes)
            XCTAssertEqual(decoded, nodes, file)
            let direct = try PolicyFileParser.parse(documents: nodes, fileName: file)
            let sent = try PolicyFileParser.parse(documents: decoded, fileName: file)
            XCTAssertFalse(direct.documents.isEmpty, file)
            XCTAssertEqual(sent.documents.map(\.key), direct.documents.map(\.key), file)
            XCTAssertEqual(sent.documents.map(\.canonical), direct.documents.map(\.canonical), file)
            XCTAssertEqual(sent.documents.map(\.line), direct.documents.map(\.line), file)
            XCTAssertEqual(sent.warnings, direct.warnings, file)
            // The text convenience is the same parse.
            let text = try PolicyFileParser.parse(try Fixtures.example(file), fileName: file)
            XCTAssertEqual(text.documents.map(\.canonical), direct.documents.map(\.canonical), file)
        }
    }

    /// A repository fed decoded trees lists what one fed the YAML lists.
    func testRepositoryFromDecodedDocuments() throws {
        let files = [
            "tutorial/backend-http-rules.yaml", "blog/cnp-front-to-back-l7.yaml", "reference/network-policies.yaml",
        ]
        let fromText = PolicyRepository(), fromNodes = PolicyRepository()
        for file in files {
            let text = try Fixtures.example(file)
            let a = try fromText.apply(yamlText: text, fileName: file)
            let b = try fromNodes.apply(
                documents: try roundTrip(PolicyYAML.documents(text, fileName: file)), fileName: file)
            XCTAssertEqual(a.description, b.description)
            XCTAssertEqual(a.warnings, b.warnings)
        }
        XCTAssertEqual(fromNodes.listing(), fromText.listing())
        XCTAssertFalse(fromNodes.listing().isEmpty)
        let text = try Fixtures.example(files[0])
        let deleted = try fromNodes.delete(
            documents: try roundTrip(PolicyYAML.documents(text, fileName: files[0])),
            fileName: files[0])
        XCTAssertEqual(deleted, try fromText.delete(yamlText: text, fileName: files[0]))
        XCTAssertFalse(deleted.isEmpty)
        XCTAssertEqual(fromNodes.keys, fromText.keys)
    }

    /// A bad policy fails with the same file:line:column: field after the trip.
    func testErrorPositionSurvivesRoundTrip() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: p
            spec:
              endpointSelector: {}
              ingress:
              - toPorts:
                - ports:
                  - port: "80"
                    protocol: UDP
                  rules:
                    http: [{}]
            """
        let expected =
            "bad.yaml:11:19: spec.ingress[0].toPorts[0].ports[0].protocol: "
            + "L7 rules can only apply to TCP (not UDP) except for DNS rules"
        let decoded = try roundTrip(PolicyYAML.documents(yaml, fileName: "bad.yaml"))
        XCTAssertThrowsError(try PolicyRepository().apply(yamlText: yaml, fileName: "bad.yaml")) {
            XCTAssertEqual(($0 as? LoadError)?.description, expected)
        }
        let repository = PolicyRepository()
        XCTAssertThrowsError(try repository.apply(documents: decoded, fileName: "bad.yaml")) {
            XCTAssertEqual(
                $0 as? LoadError,
                LoadError(
                    file: "bad.yaml", line: 11, column: 19, field: "spec.ingress[0].toPorts[0].ports[0].protocol",
                    message: "L7 rules can only apply to TCP (not UDP) except for DNS rules"))
        }
        XCTAssertTrue(repository.keys.isEmpty)
        // Unknown fields point at the key.
        let unknown =
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\nspec:\n  endpointSelector: {}\n  ingres: []\n"
        XCTAssertThrowsError(
            try PolicyFileParser.parse(
                documents: try roundTrip(PolicyYAML.documents(unknown, fileName: "u.yaml")),
                fileName: "u.yaml")
        ) {
            XCTAssertEqual(($0 as? LoadError)?.description, "u.yaml:6:3: spec.ingres: unknown field \"ingres\"")
        }
    }

    /// YAML syntax errors are LoadErrors at Yams' mark, before any node exists.
    func testSyntaxError() {
        XCTAssertThrowsError(try PolicyYAML.documents("a: b\n  c: d\n", fileName: "s.yaml")) {
            guard let error = $0 as? LoadError else { return XCTFail("\($0)") }
            XCTAssertEqual(error.file, "s.yaml")
            XCTAssertEqual(error.line, 2)
            XCTAssertEqual(error.field, "")
            XCTAssertTrue(error.description.hasPrefix("s.yaml:2:"), error.description)
        }
        XCTAssertThrowsError(try PolicyRepository().apply(yamlText: "a: [b\n", fileName: "s.yaml")) {
            XCTAssertTrue(($0 as? LoadError)?.description.hasPrefix("s.yaml:") == true, "\($0)")
        }
    }

    /// Only plain `~`/`null`/`Null`/`NULL`/empty is null; quoted ones stay strings, also after the trip.
    func testQuotedNullStaysString() throws {
        let yaml = "a: \"null\"\nb: null\nc: ~\nd: 'NULL'\ne:\nf: Null\ng: \"\"\nh: |\n  null\n"
        let nodes = try roundTrip(PolicyYAML.documents(yaml, fileName: "n.yaml"))
        XCTAssertEqual(nodes.count, 1)
        guard case .mapping(let pairs) = nodes[0].content else { return XCTFail("\(nodes)") }
        let nulls = pairs.map { YAMLValue(node: $0.value, path: "", file: "n.yaml").isNull }
        XCTAssertEqual(nulls, [false, true, true, false, true, true, false, false])
        XCTAssertEqual(pairs[0].value.content, .scalar("null", plain: false))
        XCTAssertEqual(pairs[1].value.content, .scalar("null", plain: true))
        XCTAssertEqual(pairs[4].value.content, .scalar("", plain: true))
        XCTAssertEqual(pairs[7].value.content, .scalar("null\n", plain: false))
        XCTAssertEqual(try YAMLValue(node: pairs[0].value, path: "a", file: "n.yaml").string(), "null")

        // A policy named "null" is named; one named null is not.
        let policy = { (name: String) in
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: \(name)\nspec:\n  endpointSelector: {}\n  ingress: [{fromEndpoints: [{}]}]\n"
        }
        let quoted = try PolicyFileParser.parse(
            documents: try roundTrip(PolicyYAML.documents(policy("\"null\""), fileName: "q.yaml")),
            fileName: "q.yaml")
        XCTAssertEqual(quoted.documents.map(\.key.name), ["null"])
        XCTAssertThrowsError(
            try PolicyFileParser.parse(
                documents: try roundTrip(PolicyYAML.documents(policy("null"), fileName: "q.yaml")),
                fileName: "q.yaml")
        ) {
            XCTAssertEqual(
                ($0 as? LoadError)?.description,
                "q.yaml:4:3: metadata: metadata.name: Required value: name or generateName is required")
        }
    }

    /// The documented shape, and nodes built by hand equal those from YAML.
    func testEncodingShape() throws {
        let nodes = try PolicyYAML.documents("spec: {endpointSelector: {}}\n", fileName: "e.yaml")
        let json = String(decoding: try JSONEncoder().encode(nodes[0]), as: UTF8.self)
        XCTAssertEqual(json, #"["m",1,1,["p",1,1,"spec"],["m",1,7,["p",1,8,"endpointSelector"],["m",1,26]]]"#)
        let byHand = PolicyNode.mapping(
            [
                (
                    PolicyNode.scalar("spec", line: 1, column: 1),
                    PolicyNode.mapping(
                        [
                            (
                                PolicyNode.scalar("endpointSelector", line: 1, column: 8),
                                PolicyNode.mapping([], line: 1, column: 26)
                            )
                        ], line: 1, column: 7)
                )
            ], line: 1, column: 1)
        XCTAssertEqual(nodes, [byHand])

        let list = try PolicyYAML.documents("- 'a'\n- [b]\n", fileName: "l.yaml")
        XCTAssertEqual(
            String(decoding: try JSONEncoder().encode(list), as: UTF8.self),
            #"[["l",1,1,["s",1,3,"a"],["l",2,3,["p",2,4,"b"]]]]"#)
        XCTAssertEqual(
            list,
            [
                .sequence(
                    [
                        .scalar("a", plain: false, line: 1, column: 3),
                        .sequence([.scalar("b", line: 2, column: 4)], line: 2, column: 3),
                    ],
                    line: 1, column: 1)
            ])
    }

    /// Aliases arrive resolved; empty documents arrive as null and are skipped.
    func testAliasesAndEmptyDocuments() throws {
        let yaml = "---\n---\na: &x [1, 2]\nb: *x\n---\n"
        let nodes = try roundTrip(PolicyYAML.documents(yaml, fileName: "a.yaml"))
        XCTAssertEqual(nodes.count, 3)
        XCTAssertTrue(YAMLValue(node: nodes[0], path: "", file: "a.yaml").isNull)
        XCTAssertTrue(YAMLValue(node: nodes[2], path: "", file: "a.yaml").isNull)
        guard case .mapping(let pairs) = nodes[1].content else { return XCTFail("\(nodes)") }
        XCTAssertEqual(pairs.count, 2)
        XCTAssertEqual(pairs[0].value.content, pairs[1].value.content)
        XCTAssertEqual(try YAMLValue(node: pairs[1].value, path: "b", file: "a.yaml").strings(), ["1", "2"])
        XCTAssertEqual(
            try PolicyFileParser.parse(documents: [nodes[0], nodes[2]], fileName: "a.yaml").documents.count, 0)
    }

    /// Anything but the documented shape is a DecodingError.
    func testMalformedShapesFailToDecode() {
        let malformed = [
            #"[]"#, #""p""#, #"{}"#, #"null"#, #"5"#,
            #"["p"]"#, #"["p",1]"#, #"["p",1,1]"#, #"["p",1,1,"a","b"]"#, #"["s",1,1,null]"#, #"["p",1,1,5]"#,
            #"["x",1,1,"a"]"#, #"[1,1,1,"a"]"#, #"["p","1",1,"a"]"#, #"["p",1.5,1,"a"]"#, #"["p",-1,1,"a"]"#,
            #"["p",1,-2,"a"]"#, #"["m",1,1,["p",1,1,"k"]]"#, #"["m",1,1,"k","v"]"#,
            #"["m",1,1,["p",1,1,"k"],["zz",1,1]]"#, #"["l",1,1,5]"#, #"["l",1,1,["l",1,1,[]]]"#,
            #"["m",1,1,["p",1,1,"k"],{"p":1}]"#, #"["l",null,1]"#,
        ]
        for json in malformed {
            XCTAssertThrowsError(try decode(json), json) {
                XCTAssertTrue($0 is DecodingError, "\(json): \($0)")
            }
        }
        XCTAssertNoThrow(try decode(#"["m",0,0]"#))
        XCTAssertNoThrow(try decode(#"["l",0,0,["p",0,0,""],["s",0,0,"x"]]"#))
    }

    /// 10,000 rules: the encoding stays within a small factor of the YAML text (about 2.1 here,
    /// where Foundation also escapes every `/` of the paths).
    func testLargePolicyStaysCompact() throws {
        var yaml =
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: big\nspec:\n  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - port: \"80\"\n        protocol: TCP\n      rules:\n        http:\n"
        for index in 0..<10_000 {
            yaml += "        - method: GET\n          path: /api/v1/items/\(index)\n"
        }
        let nodes = try PolicyYAML.documents(yaml, fileName: "big.yaml")
        let encoded = try JSONEncoder().encode(nodes)
        XCTAssertLessThan(
            encoded.count, yaml.utf8.count * 5 / 2, "YAML \(yaml.utf8.count) bytes, encoded \(encoded.count)")
        XCTAssertEqual(try JSONDecoder().decode([PolicyNode].self, from: encoded), nodes)
        XCTAssertEqual(try PolicyFileParser.parse(documents: nodes, fileName: "big.yaml").documents.count, 1)
    }
}
