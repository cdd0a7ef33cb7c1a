import XCTest

@testable import Flows

/// Hubble's exporter allow and deny lists (JSON encoded flow.proto `FlowFilter`s) over the §5.4
/// example flows: 0 GET /public req, 1 its 200 response, 2 DELETE /admin req (DROPPED), 3 its 403
/// response, 4 DNS req, 5 DNS resp, 6 DNS req DROPPED, 7 policy verdict, 8 L3/L4 drop.
final class FlowExportFilterTests: XCTestCase {
    private let flows = FlowFixtures.compactExamples

    private func matching(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [Int] {
        do {
            let filter = try FlowExportFilter(parsing: text)
            return flows.indices.filter { filter.matches(flows[$0]) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    func testOneObjectANDsItsFieldsAndORsTheValuesOfAField() {
        XCTAssertEqual(matching(#"{"verdict":["DROPPED"]}"#), [2, 6, 7, 8])
        XCTAssertEqual(matching(#"{"verdict":["DROPPED"],"event_type":[{"type":1}]}"#), [8])
        XCTAssertEqual(matching(#"{"event_type":[{"type":1},{"type":5}]}"#), [7, 8])
        XCTAssertEqual(matching(#"{"destination_pod":["kube-system/coredns-6f6b"]}"#), [4, 6])
        XCTAssertEqual(matching(#"{"http_status_code":["4+"]}"#), [3])
        XCTAssertEqual(matching(#"{"destination_port":["8080"]}"#), [7, 8])
    }

    func testObjectsSeparatedByCommasAreORed() {
        XCTAssertEqual(matching(#"{"event_type":[{"type":1}]},{"http_status_code":["403"]}"#), [3, 8])
    }

    func testAnEmptyListMatchesNothingButExportsEverything() throws {
        let empty = try FlowExportFilter(parsing: "  ")
        XCTAssertTrue(empty.isEmpty)
        XCTAssertFalse(flows.contains { empty.matches($0) })
        XCTAssertTrue(flows.allSatisfy { FlowExportFilter.exports($0, allow: empty, deny: empty) })
    }

    func testExportIsAllowedAndNotDenied() throws {
        let allow = try FlowExportFilter(parsing: #"{"verdict":["DROPPED"]}"#)
        let deny = try FlowExportFilter(parsing: #"{"event_type":[{"type":129}]}"#)
        XCTAssertEqual(
            flows.indices.filter { FlowExportFilter.exports(flows[$0], allow: allow, deny: deny) }, [7, 8])
        XCTAssertEqual(
            flows.indices.filter { FlowExportFilter.exports(flows[$0], allow: FlowExportFilter(), deny: deny) },
            [7, 8])
    }

    func testBadFiltersAreErrorsNotExportEverything() {
        for text in [
            #"{"verdict":"DROPPED"}"#, #"{"no_such_field":["x"]}"#, #"{"verdict":["dropped"]}"#, "[1]", "{",
            #"{"reply":[true]}"#, #"{"event_type":[{"sub_type":1}]}"#,
        ] {
            XCTAssertThrowsError(try FlowExportFilter(parsing: text), text)
        }
    }
}
