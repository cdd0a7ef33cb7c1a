import XCTest

@testable import HubbleMetrics

final class MetricFamilyTests: XCTestCase {
    func testCounterCountsExactlyAndWritesNothingWhenEmpty() {
        let c = CounterFamily(name: "x_total", help: "X", labelNames: ["b", "a"])
        var out = ""
        c.write(into: &out)
        XCTAssertEqual(out, "")
        for _ in 0..<1000 { c.add(["1", "2"]) }
        c.add(["0", "9"], 5)
        XCTAssertEqual(c.value(["1", "2"]), 1000)
        XCTAssertEqual(c.value(["0", "9"]), 5)
        XCTAssertEqual(c.value(["7", "7"]), 0)
        c.write(into: &out)
        XCTAssertEqual(
            out,
            """
            # HELP x_total X
            # TYPE x_total counter
            x_total{a="2",b="1"} 1000
            x_total{a="9",b="0"} 5

            """)
    }

    func testHistogramBucketsAreCumulativeWithInfSumAndCount() {
        let h = HistogramFamily(name: "d_seconds", help: "D", labelNames: ["m"], buckets: [0.1, 1])
        h.observe(["GET"], 0.05)
        h.observe(["GET"], 0.1)
        h.observe(["GET"], 0.5)
        h.observe(["GET"], 3)
        var out = ""
        h.write(into: &out)
        XCTAssertEqual(
            out,
            """
            # HELP d_seconds D
            # TYPE d_seconds histogram
            d_seconds_bucket{m="GET",le="0.1"} 2
            d_seconds_bucket{m="GET",le="1"} 3
            d_seconds_bucket{m="GET",le="+Inf"} 4
            d_seconds_sum{m="GET"} 3.65
            d_seconds_count{m="GET"} 4

            """)
    }

    /// Many series, observed in turn while the family's table grows, and series set in between:
    /// each keeps what a plain `Series` value computed the same way holds (sums in the same order).
    func testHistogramSeriesKeepTheirValuesWhileTheTableGrows() {
        let bounds = [0.005, 0.1, 1]
        let h = HistogramFamily(name: "g_seconds", help: "G", labelNames: ["k"], buckets: bounds)
        var expected: [[String]: HistogramFamily.Series] = [:]
        var state: UInt64 = 7
        for step in 0..<600 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let labels = ["s\(Int(state >> 33) % (1 + step / 20))"]
            if step % 97 == 0 {
                let value = HistogramFamily.Series(bucketCounts: [1, 2, UInt64(step)], sum: Double(step) / 3, count: 9)
                h.set(labels, value)
                expected[labels] = value
                continue
            }
            let value = Double(state >> 40) / Double(1 << 22)
            h.observe(labels, value)
            var s = expected[labels] ?? .init(bucketCounts: [0, 0, 0], sum: 0, count: 0)
            if let i = bounds.firstIndex(where: { value <= $0 }) { s.bucketCounts[i] += 1 }
            s.sum += value
            s.count += 1
            expected[labels] = s
        }
        XCTAssertGreaterThan(h.seriesCount, 20)
        XCTAssertEqual(h.seriesCount, expected.count)
        XCTAssertEqual(h.series, expected)
        XCTAssertEqual(h.observationsByHandle.reduce(0, +), expected.values.reduce(0) { $0 + $1.count })
    }

    func testSeriesIndexGivesHandlesInCreationOrderAndKeysStorageByLabels() {
        var index = SeriesIndex(family: "x_total", labelCount: 2)
        XCTAssertNil(index.known(["a", "b"]))
        XCTAssertTrue(index.handle(["a", "b"]) == (0, true))
        XCTAssertTrue(index.handle(["c", "d"]) == (1, true))
        XCTAssertTrue(index.handle(["a", "b"]) == (0, false))
        XCTAssertEqual(index.known(["c", "d"]), 1)
        XCTAssertEqual(index.byLabels([10, 20]), [["a", "b"]: 10, ["c", "d"]: 20])
    }

    func testCounterAndHistogramShareHandleNumbering() {
        let c = CounterFamily(name: "c_total", help: "C", labelNames: ["k"])
        let h = HistogramFamily(name: "h_seconds", help: "H", labelNames: ["k"], buckets: [1])
        XCTAssertEqual([c.series(["x"]), c.series(["y"]), c.series(["x"])], [0, 1, 0])
        XCTAssertEqual([h.series(["y"]), h.series(["x"]), h.series(["y"])], [0, 1, 0])
        c.add(series: 1, 3)
        h.observe(series: 1, 0.5)
        XCTAssertEqual(c.values, [["x"]: 0, ["y"]: 3])
        XCTAssertEqual(h.series[["x"]], HistogramFamily.Series(bucketCounts: [1], sum: 0.5, count: 1))
        XCTAssertEqual(h.series[["y"]]?.count, 0)
    }

    func testGaugeWithoutLabels() {
        let g = GaugeFamily(name: "rss_bytes", help: "R")
        g.set([], 12_345_678)
        var out = ""
        g.write(into: &out)
        XCTAssertEqual(out, "# HELP rss_bytes R\n# TYPE rss_bytes gauge\nrss_bytes 12345678\n")
        XCTAssertEqual(g.value([]), 12_345_678)
    }
}
