import SluiceJSON
import XCTest

@testable import Flows

/// `--hubble-export-fieldmask` (FlowFieldMask): Hubble's paths over the flow JSON, checked at
/// parse time; a line keeps only the masked fields, and `time` / `node_name` of the line only
/// when the mask keeps them.
final class FlowFieldMaskTests: XCTestCase {
    private let line =
        #"{"flow":{"time":"2026-08-01T10:00:00.123456789Z","uuid":"u-1","verdict":"FORWARDED","IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"source":{"ID":1203,"identity":11231,"namespace":"default","labels":["k8s:app=client"],"pod_name":"client-7d9f"},"destination":{"ID":877,"identity":22411,"namespace":"default","pod_name":"server-5c6b"},"Type":"L7","node_name":"kind-worker","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://server.default/public","protocol":"HTTP/1.1"}},"Summary":"HTTP/1.1 GET http://server.default/public"},"node_name":"kind-worker","time":"2026-08-01T10:00:00.123456789Z"}"#

    func testHubblesExamplePaths() throws {
        let mask = try FlowFieldMask(parsing: "time,source.namespace,verdict,l7.http")
        XCTAssertTrue(mask.isActive)
        XCTAssertEqual(
            mask.apply(toLine: line),
            #"{"flow":{"time":"2026-08-01T10:00:00.123456789Z","verdict":"FORWARDED","source":{"namespace":"default"},"l7":{"http":{"method":"GET","url":"http://server.default/public","protocol":"HTTP/1.1"}}},"time":"2026-08-01T10:00:00.123456789Z"}"#,
            "the line's node_name goes with the flow's")
    }

    func testWholeFieldsNodeNameAndAbsentFields() throws {
        let mask = try FlowFieldMask(parsing: " destination , node_name,drop_reason_desc,IP.ipVersion")
        XCTAssertEqual(
            mask.apply(toLine: line),
            #"{"flow":{"IP":{"ipVersion":"IPv4"},"destination":{"ID":877,"identity":22411,"namespace":"default","pod_name":"server-5c6b"},"node_name":"kind-worker"},"node_name":"kind-worker"}"#
        )
        let nothing = try FlowFieldMask(parsing: "source.workloads")
        XCTAssertEqual(nothing.apply(toLine: line), #"{"flow":{}}"#, "a path to an absent field keeps nothing")
    }

    func testNoMaskAndOtherLinesUnchanged() throws {
        XCTAssertFalse(FlowFieldMask().isActive)
        XCTAssertEqual(FlowFieldMask().apply(toLine: line), line)
        let lost = #"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":3}}"#
        XCTAssertEqual(try FlowFieldMask(parsing: "time").apply(toLine: lost), lost)
    }

    func testBadPathsAreRefusedNamingThem() {
        for (text, says) in [
            ("time,sauce", #"Flow has no field "sauce""#), ("time,,verdict", "empty field name"),
            ("source.", "empty field name"), ("", "empty field name"),
        ] {
            XCTAssertThrowsError(try FlowFieldMask(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains(says), "\(text): \(error)")
            }
        }
    }

    func testMaskedLineIsStillAFlowForObserveInputFile() throws {
        let masked = try FlowFieldMask(parsing: "time,verdict,source,l7").apply(toLine: line)
        let flow = try XCTUnwrap(try Flow.fromJSON(masked))
        XCTAssertEqual(flow.verdict, .forwarded)
        XCTAssertEqual(flow.source?.podName, "client-7d9f")
        XCTAssertNil(flow.destination)
    }
}
