import XCTest

@testable import HubbleMetrics

final class ExpositionTests: XCTestCase {
    func testLabelValuesAndHelpAreEscaped() {
        XCTAssertEqual(Exposition.escapeLabelValue(#"a"b\c"# + "\nd"), #"a\"b\\c\nd"#)
        XCTAssertEqual(Exposition.escapeLabelValue("plain"), "plain")
        XCTAssertEqual(Exposition.escapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q")
    }

    func testNumbersAsPrometheusAndGoWriteThem() {
        XCTAssertEqual(Exposition.number(1), "1")
        XCTAssertEqual(Exposition.number(10), "10")
        XCTAssertEqual(Exposition.number(0.005), "0.005")
        XCTAssertEqual(Exposition.number(2.5), "2.5")
        XCTAssertEqual(Exposition.number(0.00001), "1e-05")
        XCTAssertEqual(Exposition.number(.infinity), "+Inf")
        XCTAssertEqual(Exposition.number(-.infinity), "-Inf")
        XCTAssertEqual(Exposition.number(.nan), "NaN")
    }

    func testFamiliesSortedByNameAndSeriesByValues() {
        let b = CounterFamily(name: "b_total", help: "B", labelNames: ["k"])
        let a = CounterFamily(name: "a_total", help: "A", labelNames: [])
        b.add(["z"])
        b.add(["m"])
        a.add([])
        let text = Exposition.render([b, a])
        XCTAssertEqual(
            text,
            """
            # HELP a_total A
            # TYPE a_total counter
            a_total 1
            # HELP b_total B
            # TYPE b_total counter
            b_total{k="m"} 1
            b_total{k="z"} 1

            """)
    }
}
