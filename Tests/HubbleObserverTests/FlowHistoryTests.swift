import Flows
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
}
