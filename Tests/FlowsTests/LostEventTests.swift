import XCTest

@testable import Flows

/// hubble's lost-events record in each output (hubble/pkg/printer WriteLostEvent) and in
/// `-o json` (observer.proto `GetFlowsResponse.lost_events`, protojson).
final class LostEventTests: XCTestCase {
    private let event = LostEvent(
        source: .hubbleRingBuffer, count: 42, nodeName: "sluice-node",
        time: Flow.Timestamp(seconds: 1_785_578_403, nanos: 500_000_000))

    func testCompactDictAndTable() {
        XCTAssertEqual(FlowPrinter.compact(event), "EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 42")
        XCTAssertEqual(
            FlowPrinter.dict(event),
            """
              TIMESTAMP: \("")
                 SOURCE: HUBBLE_RING_BUFFER
                   TYPE: EVENTS LOST
                VERDICT: \("")
                SUMMARY: CPU(0) - 42
            """)
        XCTAssertEqual(FlowPrinter.tableRow(event), ["", "HUBBLE_RING_BUFFER", "", "EVENTS LOST", "", "CPU(0) - 42"])
        XCTAssertEqual(
            FlowPrinter.tableRow(event, printNodeName: true).count, FlowPrinter.tableHeader(printNodeName: true).count)
    }

    func testJSON() throws {
        XCTAssertEqual(
            FlowPrinter.json(event),
            "{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\",\"num_events_lost\":\"42\"},"
                + "\"node_name\":\"sluice-node\",\"time\":\"2026-08-01T10:00:03.500Z\"}")
        var perCPU = event
        perCPU.source = .perfEventRingBuffer
        perCPU.cpu = 3
        XCTAssertTrue(
            FlowPrinter.json(perCPU).hasPrefix(
                "{\"lost_events\":{\"source\":\"PERF_EVENT_RING_BUFFER\",\"num_events_lost\":\"42\",\"cpu\":3}"))
        XCTAssertEqual(FlowPrinter.compact(perCPU), "EVENTS LOST: PERF_EVENT_RING_BUFFER CPU(3) 42")
        // Exported lost events are not flows: --input-file skips them.
        XCTAssertNil(try Flow.fromJSON(FlowPrinter.json(event)))
    }
}
