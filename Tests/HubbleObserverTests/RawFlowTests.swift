import CSluiceShared
import Flows
import HubbleProto
import SluiceTestSupport
import XCTest

@testable import HubbleObserver

final class RawFlowTests: XCTestCase {
    static let context = FlowDecodeContext(
        directory: RecordSamples.directory, seed: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/1/1", nodeNameOverride: nil)

    static func raws(_ count: Int, seed: UInt64 = 17) -> [RawFlow] {
        RecordSamples.make(count: count, seed: seed).enumerated().map {
            RawFlow(
                record: $0.element, seq: UInt64($0.offset), wallOffsetNs: 1_700_000_000_000_000_000, context: context)
        }
    }

    func testDecodeIsTheReadersDecodeAndTimeAndNamespacesNeedNoDecode() {
        for raw in Self.raws(3_000) {
            let flow = raw.decode()
            var expected = Flow.decode(
                raw.record, directory: RecordSamples.directory, monotonicToWallOffsetNs: raw.wallOffsetNs)
            expected.uuid = FlowUUID.make(seed: Self.context.seed, seq: raw.seq)
            expected.emitter = .sluice
            XCTAssertEqual(flow, expected)
            XCTAssertEqual(raw.time, flow.time)
            let (source, destination) = Self.context.namespaces(raw.record)
            XCTAssertEqual(source, flow.source?.namespace ?? "")
            XCTAssertEqual(destination, flow.destination?.namespace ?? "")
        }
    }

    func testNodeNameTheOverrideThenTheDirectoryThenSluiceNode() {
        XCTAssertEqual(Self.context.nodeName, "sluice-node")
        let named = FlowDecodeContext(directory: RecordSamples.directory, seed: "", nodeNameOverride: "node-b")
        XCTAssertEqual(named.nodeName, "node-b")
        XCTAssertEqual(
            RawFlow(record: sluice_flow(), seq: 0, wallOffsetNs: 0, context: named).decode().nodeName, "node-b")
        let empty = FlowDecodeContext(directory: EndpointDirectory(), seed: "", nodeNameOverride: nil)
        XCTAssertEqual(empty.nodeName, "sluice-node")
        XCTAssertEqual(
            RawFlow(record: sluice_flow(), seq: 0, wallOffsetNs: 0, context: empty).decode().nodeName, "sluice-node")
    }

    /// GetFlows from a history of records answers what it answered from the decoded flows.
    func testGetFlowsFromRecordsEqualsGetFlowsFromDecodedFlows() throws {
        let raws = Self.raws(700, seed: 3)
        var rawHistory = FlowHistory(capacity: 500)
        var decodedHistory = FlowHistory(capacity: 500)
        for raw in raws {
            rawHistory.append(raw)
            decodedHistory.append(raw.decode())
        }
        XCTAssertEqual(rawHistory.count, decodedHistory.count)
        XCTAssertEqual(rawHistory.seenFlows, decodedHistory.seenFlows)
        XCTAssertEqual(rawHistory.oldestTime, decodedHistory.oldestTime)
        XCTAssertEqual(rawHistory.newestTime, decodedHistory.newestTime)
        XCTAssertEqual(rawHistory.entries.map(\.index), decodedHistory.entries.map(\.index))
        XCTAssertEqual(rawHistory.entries.map(\.flow), decodedHistory.entries.map(\.flow))
        let times = raws.map(\.time)
        var dropped = FlowFilter.Criteria()
        dropped.verdict = [2]
        var backendGET = FlowFilter.Criteria()
        backendGET.destinationPod = ["backend/"]
        backendGET.httpMethod = ["GET"]
        var dns = FlowFilter.Criteria()
        dns.protocol = ["dns"]
        let requests: [(String, (inout GetFlowsRequest) -> Void)] = [
            ("all", { _ in }),
            ("number", { $0.number = 20 }),
            (
                "first",
                {
                    $0.number = 20; $0.first = true
                }
            ),
            ("since", { $0.since = times[400] }),
            (
                "until",
                {
                    $0.until = times[450]; $0.number = 50
                }
            ),
            (
                "since until first",
                {
                    $0.since = times[300]; $0.until = times[600]; $0.first = true; $0.number = 30
                }
            ),
            (
                "whitelist",
                {
                    $0.whitelist = [dropped, dns]; $0.number = 40
                }
            ),
            ("blacklist", { $0.blacklist = [dropped] }),
            (
                "both",
                {
                    $0.whitelist = [backendGET]; $0.blacklist = [dropped]; $0.first = true
                }
            ),
            (
                "follow number",
                {
                    $0.follow = true; $0.number = 3
                }
            ),
        ]
        for (name, build) in requests {
            var request = GetFlowsRequest()
            build(&request)
            let query = try FlowQuery(request)
            let fromRecords = query.initialFlows(rawHistory)
            XCTAssertEqual(fromRecords, query.initialFlows(decodedHistory), name)
            XCTAssertEqual(
                fromRecords.map { query.framed($0) }, query.initialFlows(decodedHistory).map { query.framed($0) }, name)
            if name != "follow number" && name != "all" { XCTAssertFalse(fromRecords.isEmpty, name) }
        }
    }
}
