import Flows
import HubbleProto
import XCTest

@testable import HubbleObserver

final class FlowQueryTests: XCTestCase {
    func history() -> FlowHistory {
        var h = FlowHistory(capacity: 10)
        for s in Int64(1)...6 { h.append(TestServer.flow(s, verdict: s % 2 == 0 ? .dropped : .forwarded)) }
        return h
    }

    func query(_ build: (inout GetFlowsRequest) -> Void) throws -> FlowQuery {
        var r = GetFlowsRequest()
        build(&r)
        return try FlowQuery(r)
    }

    func testHubblesSelection() throws {
        let h = history()
        XCTAssertEqual(try query { $0.number = 2 }.initialFlows(h).map(\.time.seconds), [5, 6])
        XCTAssertEqual(
            try query {
                $0.number = 2; $0.first = true
            }.initialFlows(h).map(\.time.seconds), [1, 2])
        XCTAssertEqual(try query { _ in }.initialFlows(h).count, 6, "number 0: every kept flow")
        XCTAssertEqual(try query { $0.follow = true }.initialFlows(h).count, 0, "follow alone: new flows only")
        XCTAssertEqual(
            try query {
                $0.follow = true; $0.number = 1
            }.initialFlows(h).map(\.time.seconds), [6])
        XCTAssertEqual(
            try query { $0.since = Flow.Timestamp(seconds: 5) }.initialFlows(h).map(\.time.seconds), [5, 6])
        XCTAssertEqual(
            try query {
                $0.since = Flow.Timestamp(seconds: 2); $0.until = Flow.Timestamp(seconds: 3); $0.number = 1
            }
            .initialFlows(h).map(\.time.seconds), [3])
        var dropped = FlowFilter.Criteria()
        dropped.verdict = [2]
        XCTAssertEqual(
            try query {
                $0.whitelist = [dropped]; $0.number = 2
            }.initialFlows(h).map(\.time.seconds), [4, 6])
        XCTAssertEqual(try query { $0.blacklist = [dropped] }.initialFlows(h).map(\.time.seconds), [1, 3, 5])
    }

    func testRefusals() {
        XCTAssertThrowsError(
            try query {
                $0.first = true; $0.follow = true
            }
        ) {
            XCTAssertEqual(($0 as? FlowQuery.Invalid)?.description, "first cannot be specified with follow")
        }
        XCTAssertThrowsError(
            try query {
                $0.since = Flow.Timestamp(seconds: 2); $0.until = Flow.Timestamp(seconds: 1)
            })
        var bad = FlowFilter.Criteria()
        bad.sourceIP = ["not-an-ip"]
        XCTAssertThrowsError(try query { $0.whitelist = [bad] }) {
            XCTAssertEqual(($0 as? FlowQuery.Invalid)?.description, "invalid IP address or CIDR in filter: not-an-ip")
        }
        XCTAssertTrue(try! query { $0.until = Flow.Timestamp(seconds: 1) }.isOver(wallNs: 2_000_000_000))
        XCTAssertFalse(try! query { _ in }.isOver(wallNs: 2_000_000_000))
    }
}
