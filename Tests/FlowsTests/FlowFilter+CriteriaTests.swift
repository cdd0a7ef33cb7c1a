import SluiceModel
import XCTest

@testable import Flows

/// Hubble's FlowFilter messages on the clause engine `observe` uses: the same flows pass.
final class FlowFilterCriteriaTests: XCTestCase {
    let client = Flow(
        verdict: .dropped, ip: Flow.IP(source: "10.244.1.11", destination: "10.0.0.1", ipVersion: .ipv4),
        l4: .tcp(Flow.TCP(sourcePort: 1234, destinationPort: 443)),
        source: FlowEndpoint(identity: 9, namespace: "default", labels: ["k8s:app=client"], podName: "client-1"),
        destination: FlowEndpoint(identity: 2, labels: ["reserved:world"]), nodeName: "node-a",
        eventType: Flow.EventType(type: 1), trafficDirection: .egress)

    func list(_ build: (inout FlowFilter.Criteria) -> Void) throws -> FlowFilter.CriteriaList {
        var c = FlowFilter.Criteria()
        build(&c)
        return try FlowFilter.CriteriaList([c])
    }

    func testEachCriterionAgainstTheSameEngineAsTheFlags() throws {
        let hits: [(String, (inout FlowFilter.Criteria) -> Void, Bool)] = [
            ("pod prefix", { $0.sourcePod = ["default/client"] }, true),
            ("other namespace", { $0.sourcePod = ["backend/client"] }, false),
            ("verdict", { $0.verdict = [2] }, true),
            ("verdict forwarded", { $0.verdict = [1] }, false),
            ("label", { $0.sourceLabel = ["app=client"] }, true),
            ("cidr", { $0.destinationIP = ["10.0.0.0/8"] }, true),
            ("port", { $0.destinationPort = ["443"] }, true),
            ("identity", { $0.destinationIdentity = [2] }, true),
            ("direction", { $0.trafficDirection = [1] }, false),
            ("event type", { $0.eventType = [FlowFilter.EventTypeCriterion(type: 1)] }, true),
            ("protocol", { $0.protocol = ["TCP"] }, true),
            ("node", { $0.nodeName = ["node-*"] }, true),
            ("ip version", { $0.ipVersion = [2] }, false),
            ("tcp flags", { $0.tcpFlags = [(flags: [.syn], ns: false)] }, false),
            (
                "both hold",
                {
                    $0.verdict = [2]; $0.sourcePod = ["client"]
                }, true
            ),
            (
                "one of two fails",
                {
                    $0.verdict = [2]; $0.sourcePod = ["server"]
                }, false
            ),
        ]
        for (name, build, expected) in hits {
            XCTAssertEqual(try list(build).matchesAny(client), expected, name)
        }
    }

    func testListsAndHubblesWhitelistBlacklistRule() throws {
        var a = FlowFilter.Criteria()
        a.verdict = [1]
        var b = FlowFilter.Criteria()
        b.sourcePod = ["default/client"]
        let either = try FlowFilter.CriteriaList([a, b])
        XCTAssertTrue(either.matchesAny(client), "filters of a list are ORed")
        let none = try FlowFilter.CriteriaList([])
        XCTAssertTrue(none.isEmpty)
        XCTAssertFalse(none.matchesAny(client))
        XCTAssertTrue(FlowFilter.CriteriaList.passes(client, whitelist: none, blacklist: none))
        XCTAssertFalse(FlowFilter.CriteriaList.passes(client, whitelist: none, blacklist: either))
        XCTAssertTrue(FlowFilter.CriteriaList.passes(client, whitelist: either, blacklist: none))
    }

    func testRefusedValues() {
        let bad: [((inout FlowFilter.Criteria) -> Void, String)] = [
            ({ $0.sourceIP = ["x"] }, "invalid IP address or CIDR in filter: x"),
            ({ $0.httpStatusCode = ["9999"] }, "invalid status code filter: 9999"),
            ({ $0.httpPath = ["("] }, "invalid regular expression in http_path filter: ("),
            ({ $0.sourcePort = ["70000"] }, "invalid port in filter: 70000"),
            ({ $0.verdict = [300] }, "invalid verdict 300"),
            ({ $0.unsupported = ["source_service"] }, "unsupported filter field: source_service"),
            (
                {
                    $0.httpMethod = ["GET"]; $0.eventType = [FlowFilter.EventTypeCriterion(type: 1)]
                },
                "filtering by HTTP fields requires the event type filter to match 'l7' events"
            ),
        ]
        for (build, message) in bad {
            XCTAssertThrowsError(try list(build), message) {
                XCTAssertEqual(($0 as? FlowFilter.Error)?.description, message)
            }
        }
    }
}
