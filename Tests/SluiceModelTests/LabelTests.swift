import SluiceModel
import XCTest

final class LabelTests: XCTestCase {
    func testParsesCiliumText() {
        XCTAssertEqual(Label(parsing: "k8s:app=web"), Label(source: "k8s", key: "app", value: "web"))
        XCTAssertEqual(Label(parsing: "reserved:world"), Label(source: "reserved", key: "world", value: ""))
        XCTAssertEqual(Label(parsing: "app=web"), Label(source: "unspec", key: "app", value: "web"))
        // A `:` after the first `=` belongs to the value.
        XCTAssertEqual(Label(parsing: "url=http://x"), Label(source: "unspec", key: "url", value: "http://x"))
        XCTAssertEqual(Label(parsing: "k8s:a=b=c"), Label(source: "k8s", key: "a", value: "b=c"))
    }

    func testPrintsAndSplits() {
        XCTAssertEqual(Label.k8s("app", "web").description, "k8s:app=web")
        XCTAssertEqual(Label(source: "reserved", key: "host", value: "").description, "reserved:host")
        XCTAssertEqual(Label(source: "k8s", key: "x", value: "").description, "k8s:x=")
        XCTAssertTrue(Label(parsing: "k8s:a=1") < Label(parsing: "k8s:b=0"))
        XCTAssertEqual(Label.splitSource("k8s:app").source, "k8s")
        XCTAssertEqual(Label.splitSource("app").source, "any")
        XCTAssertEqual(Label.splitSource(":app").source, "any")
        XCTAssertEqual(Label.splitSource(":app").key, "app")
        for text in ["k8s:app=web", "reserved:world", "k8s:io.kubernetes.pod.namespace=default"] {
            XCTAssertEqual(Label(parsing: text).description, text)
        }
    }
}
