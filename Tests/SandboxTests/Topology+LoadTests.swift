import SluiceAPI
import SluiceModel
import XCTest

@testable import Sandbox

/// Reading and decoding a topology file (Topology+Load): YAML errors, missing fields and wrong types with
/// their path and line, a missing file.
final class TopologyLoadTests: XCTestCase {
    private func parseError(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> TopologyError? {
        do {
            _ = try Topology.parse(yaml: yaml, file: "t.yaml")
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testMissingField() {
        let error = parseError("pods:\n  - namespace: default\n")
        XCTAssertEqual(error?.field, "pods[0].name")
        XCTAssertEqual(error?.message, "missing field")
        XCTAssertEqual(error?.line, 2)
    }

    func testWrongType() {
        let error = parseError("pods:\n  - name: a\n    labels: [x]\n")
        XCTAssertEqual(error?.field, "pods[0].labels")
        XCTAssertNotNil(error?.line)
    }

    func testInvalidYAML() {
        let error = parseError("pods: [\n")
        XCTAssertTrue(error?.message.hasPrefix("invalid YAML") ?? false)
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Topology.load(path: "/nonexistent/topology.yaml")) { error in
            XCTAssertEqual((error as? TopologyError)?.file, "/nonexistent/topology.yaml")
        }
    }
}
