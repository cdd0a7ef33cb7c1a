import Policy
import PolicyYAML
import XCTest

/// YAML text to PolicyNode trees (Yams underneath): documents, scalar styles, 1-based positions,
/// and syntax errors as LoadErrors naming file, line and column.
final class PolicyYAMLTests: XCTestCase {
    func testEveryDocumentIsARoot() throws {
        let roots = try PolicyYAML.documents("a: 1\n---\n- x\n- y\n---\nplain\n", fileName: "m.yaml")
        XCTAssertEqual(roots.count, 3)
        guard case .mapping(let pairs) = roots[0].content else { return XCTFail("\(roots[0])") }
        XCTAssertEqual(pairs.map(\.key.content), [.scalar("a", plain: true)])
        XCTAssertEqual(pairs.map(\.value.content), [.scalar("1", plain: true)])
        XCTAssertEqual(
            roots[1].content, .sequence([.scalar("x", line: 3, column: 3), .scalar("y", line: 4, column: 3)]))
        XCTAssertEqual(roots[2].content, .scalar("plain", plain: true))
        XCTAssertEqual(try PolicyYAML.documents("", fileName: "e.yaml").count, 0)
    }

    func testPositionsAreOneBasedLineAndColumn() throws {
        let roots = try PolicyYAML.documents("spec:\n  ingress:\n  - fromEndpoints: []\n", fileName: "p.yaml")
        guard case .mapping(let spec) = roots[0].content, case .mapping(let inner) = spec[0].value.content,
            case .sequence(let rules) = inner[0].value.content
        else { return XCTFail("\(roots)") }
        XCTAssertEqual([spec[0].key.line, spec[0].key.column], [1, 1])
        XCTAssertEqual([inner[0].key.line, inner[0].key.column], [2, 3])
        XCTAssertEqual([rules[0].line, rules[0].column], [3, 5])
    }

    func testQuotedScalarsAreNotPlain() throws {
        let roots = try PolicyYAML.documents("a: 'x'\nb: \"y\"\nc: z\n", fileName: "q.yaml")
        guard case .mapping(let pairs) = roots[0].content else { return XCTFail("\(roots)") }
        XCTAssertEqual(
            pairs.map(\.value.content),
            [.scalar("x", plain: false), .scalar("y", plain: false), .scalar("z", plain: true)])
    }

    func testSyntaxErrorsNameFileLineAndColumn() {
        XCTAssertThrowsError(try PolicyYAML.documents("a: [b\n", fileName: "bad.yaml")) {
            guard let error = $0 as? LoadError else { return XCTFail("\($0)") }
            XCTAssertEqual(error.file, "bad.yaml")
            XCTAssertGreaterThan(error.line, 0)
            XCTAssertGreaterThan(error.column, 0)
            XCTAssertEqual(error.field, "")
            XCTAssertFalse(error.message.isEmpty)
        }
    }

    func testRepositoryAndFileParserReadYAML() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: p, namespace: backend}
            spec:
              endpointSelector: {}
              ingress: [{}]
            """
        XCTAssertNoThrow(try PolicyFileParser.parse(yaml, fileName: "ok.yaml"))
        XCTAssertNoThrow(try PolicyRepository().apply(yamlText: yaml, fileName: "ok.yaml"))
        XCTAssertThrowsError(try PolicyRepository().apply(yamlText: "kind: [\n", fileName: "bad.yaml")) {
            XCTAssertEqual(($0 as? LoadError)?.file, "bad.yaml")
        }
    }
}
