import CSluiceShared
import Flows
import SluiceTestSupport
import XCTest

@testable import HubbleObserver

final class FlowHistoryTests: XCTestCase {
    static func flow(_ second: Int64, pod: String = "client") -> Flow {
        Flow(
            time: Flow.Timestamp(seconds: second), verdict: .forwarded,
            source: FlowEndpoint(namespace: "default", podName: pod), nodeName: "n")
    }

    func testKeepsTheLastCapacityFlowsOldestFirstAndCountsEverySeen() {
        var history = FlowHistory(capacity: 3)
        XCTAssertEqual(history.count, 0)
        XCTAssertNil(history.oldestTime)
        for second in Int64(1)...5 { history.append(Self.flow(second)) }
        XCTAssertEqual(history.count, 3)
        XCTAssertEqual(history.seenFlows, 5)
        XCTAssertEqual(history.entries.map(\.flow.time.seconds), [3, 4, 5])
        XCTAssertEqual(history.entries.map(\.index), [2, 3, 4])
        XCTAssertEqual(history.oldestTime?.seconds, 3)
        XCTAssertEqual(history.newestTime?.seconds, 5)
        var newestFirst: [Int64] = []
        history.forEachNewestFirst {
            newestFirst.append($0.flow.time.seconds)
            return newestFirst.count < 2
        }
        XCTAssertEqual(newestFirst, [5, 4])
    }

    func testPartlyFilledHistoryAndLostCounts() {
        var history = FlowHistory(capacity: 4095)
        history.append(Self.flow(7))
        history.append(Self.flow(8))
        history.noteLost(3)
        history.noteLost(2)
        XCTAssertEqual(history.capacity, 4095)
        XCTAssertEqual(history.entries.map(\.flow.time.seconds), [7, 8])
        XCTAssertEqual(history.lostEvents, 5)
        var seen: [Int64] = []
        history.forEach {
            seen.append($0.flow.time.seconds)
            return true
        }
        XCTAssertEqual(seen, [7, 8])
    }

    func testCapacityIsAtLeastOne() {
        var history = FlowHistory(capacity: 0)
        history.append(Self.flow(1))
        history.append(Self.flow(2))
        XCTAssertEqual(history.entries.map(\.flow.time.seconds), [2])
    }

    /// Each kept record decodes with the directory it was read with, across directory changes;
    /// a directory leaves the context table when its last record is overwritten.
    func testTheContextIndexSurvivesADirectoryChange() {
        let a = RawFlowTests.context
        let b = FlowDecodeContext(directory: EndpointDirectory(), seed: "other-seed", nodeNameOverride: "node-b")
        let raws = RawFlowTests.raws(20, seed: 9)
        func with(_ context: FlowDecodeContext, _ raw: RawFlow) -> RawFlow {
            RawFlow(record: raw.record, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs, context: context)
        }
        var history = FlowHistory(capacity: 6)
        var expected: [Flow] = []
        for raw in raws[0..<4] {
            history.append(with(a, raw))
            expected.append(with(a, raw).decode())
        }
        XCTAssertEqual(history.contextCount, 1)
        for raw in raws[4..<8] {
            history.append(with(b, raw))
            expected.append(with(b, raw).decode())
        }
        XCTAssertEqual(history.entries.map(\.flow), Array(expected.suffix(6)))
        XCTAssertEqual(
            history.entries.map(\.flow.nodeName), ["sluice-node", "sluice-node"] + Array(repeating: "node-b", count: 4))
        XCTAssertEqual(history.contextCount, 2, "a's records 2 and 3 are still kept")
        // A decoded flow in between keeps the numbering.
        history.append(Self.flow(99))
        expected.append(Self.flow(99))
        XCTAssertEqual(history.contextCount, 2)
        history.append(with(b, raws[8]))
        expected.append(with(b, raws[8]).decode())
        XCTAssertEqual(history.contextCount, 1, "a's last record was overwritten")
        XCTAssertEqual(history.entries.map(\.flow), Array(expected.suffix(6)))
        // Back to a: a new number; both decode as read.
        for raw in raws[9..<12] {
            history.append(with(a, raw))
            expected.append(with(a, raw).decode())
        }
        XCTAssertEqual(history.contextCount, 2)
        XCTAssertEqual(history.entries.map(\.flow), Array(expected.suffix(6)))
        XCTAssertEqual(history.entries.map(\.index), Array(7..<13).map(UInt64.init))
        var refs: [UInt64] = []
        let entries = history.entries
        history.forEachRecord { ref in
            refs.append(ref.seq)
            XCTAssertEqual(ref.decode(), entries.first { $0.raw?.seq == ref.seq }?.flow)
            return true
        }
        XCTAssertEqual(refs, [7, 8, 9, 10, 11], "records only (not the decoded flow 99), oldest first")
        for raw in raws[12..<20] { history.append(with(b, raw)) }
        XCTAssertEqual(history.contextCount, 1)
    }

    /// The spare slot the reader copies into before it knows the record is complete changes no kept flow.
    func testTheSpareSlotChangesNoKeptFlowUntilCommitted() {
        let raws = RawFlowTests.raws(10, seed: 4)
        var history = FlowHistory(capacity: 3)
        for raw in raws[0..<3] { history.append(raw) }
        let before = history.entries.map(\.flow)
        for _ in 0..<2 {
            let slot = history.nextRecordSlot()
            UnsafeMutableRawPointer(slot).initializeMemory(
                as: UInt8.self, repeating: 0xff, count: MemoryLayout<sluice_flow>.size)
            XCTAssertEqual(history.entries.map(\.flow), before, "a torn copy replaced nothing")
        }
        XCTAssertEqual(history.seenFlows, 3)
        let slot = history.nextRecordSlot()
        withUnsafePointer(to: raws[3].record) { _ = FlowRecordBytes.copyUsed(from: $0, to: slot) }
        let ref = history.commitRecord(seq: raws[3].seq, wallOffsetNs: raws[3].wallOffsetNs, context: raws[3].context)
        XCTAssertEqual(ref.decode(), raws[3].decode())
        XCTAssertEqual(history.entries.map(\.flow), raws[1..<4].map { $0.decode() })
        XCTAssertEqual(history.oldestTime, raws[1].time)
        XCTAssertEqual(history.newestTime, raws[3].time)
    }

    /// A copy of a history keeps its flows when the original goes on (the records are copied on write).
    func testACopyKeepsItsRecordsWhenTheOriginalGoesOn() {
        let raws = RawFlowTests.raws(8, seed: 6)
        var history = FlowHistory(capacity: 3)
        for raw in raws[0..<3] { history.append(raw) }
        let copy = history
        for raw in raws[3..<8] { history.append(raw) }
        XCTAssertEqual(copy.entries.map(\.flow), raws[0..<3].map { $0.decode() })
        XCTAssertEqual(history.entries.map(\.flow), raws[5..<8].map { $0.decode() })
    }
}
