import XCTest

@testable import Sandbox

final class TopologyErrorTests: XCTestCase {
    func testDescriptionNamesFileLineAndField() {
        XCTAssertEqual(
            TopologyError(file: "topo.yaml", line: 4, field: "pods[1].name", message: "duplicate name").description,
            "topo.yaml:4: pods[1].name: duplicate name")
        XCTAssertEqual(
            TopologyError(file: "topo.yaml", line: nil, field: "", message: "empty file").description,
            "topo.yaml: empty file")
    }

    func testPathRendering() {
        XCTAssertEqual(TopologyPathItem.render([]), "")
        XCTAssertEqual(
            TopologyPathItem.render([.key("pods"), .index(2), .key("servers"), .index(0)]), "pods[2].servers[0]")
        XCTAssertEqual(TopologyPathItem.render([.index(1), .key("a")]), "[1].a")
    }
}
