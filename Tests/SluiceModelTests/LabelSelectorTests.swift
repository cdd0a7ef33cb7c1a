import SluiceModel
import XCTest

final class LabelSelectorTests: XCTestCase {
    private let web = ["k8s:app=web", "k8s:tier=front", "reserved:init"].map { Label(parsing: $0) }

    private func matches(_ text: String, _ labels: [Label]) throws -> Bool {
        try XCTUnwrap(LabelSelector(text: text), text).matches(labels)
    }

    func testTextForm() throws {
        XCTAssertTrue(try matches("app=web", web))
        XCTAssertTrue(try matches("app==web", web))
        XCTAssertTrue(try matches("k8s:app=web", web))
        XCTAssertTrue(try matches("any:app=web", web))
        XCTAssertFalse(try matches("reserved:app=web", web))
        XCTAssertFalse(try matches("app!=web", web))
        XCTAssertTrue(try matches("app!=db", web))
        XCTAssertTrue(try matches("app in (db, web)", web))
        XCTAssertFalse(try matches("app notin (db,web)", web))
        XCTAssertTrue(try matches("tier", web))
        XCTAssertFalse(try matches("!tier", web))
        XCTAssertTrue(try matches("!missing", web))
        XCTAssertTrue(try matches("app=web, tier=front", web))
        XCTAssertFalse(try matches("app=web,tier=back", web))
        XCTAssertTrue(try matches("reserved:init", web))
    }

    func testTextFormRejectsMalformed() {
        for text in ["", ",", "app=web,", "a b", "app in db", "app in (a", "=web", "!"] {
            XCTAssertNil(LabelSelector(text: text), text)
        }
    }

    func testTextFormCanonical() {
        XCTAssertEqual(
            LabelSelector(text: "tier in (a,b), k8s:app=web, !x")?.canonical,
            "{any:tier in (a,b), !any:x, k8s:app=web}")
        XCTAssertEqual(LabelSelector(text: "app!=db")?.canonical, "{any:app notin (db)}")
    }

    func testBuiltSelectors() {
        var selector = LabelSelector()
        XCTAssertTrue(selector.isEmpty)
        XCTAssertTrue(selector.matches(web))
        XCTAssertEqual(selector.canonical, "{}")
        selector.setMatch(source: "k8s", key: "app", value: "db")
        selector.setMatch(source: "k8s", key: "app", value: "web")
        selector.addExists(source: "any", key: "tier")
        XCTAssertEqual(selector.canonical, "{any:tier exists, k8s:app=web}")
        XCTAssertTrue(selector.matches(web))
        XCTAssertTrue(selector.namesKey("app"))
        XCTAssertFalse(selector.namesKey("x"))
        XCTAssertFalse(selector.namesReservedLabel)
        XCTAssertEqual(selector, LabelSelector(requirements: selector.requirements.reversed()))
        let reserved = LabelSelector(requirements: [.init(source: "reserved", key: "host", op: .exists, values: [])])
        XCTAssertTrue(reserved.namesReservedLabel)
        XCTAssertFalse(reserved.matches(web))
    }
}
