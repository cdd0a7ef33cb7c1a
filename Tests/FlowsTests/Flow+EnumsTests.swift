import XCTest

@testable import Flows

/// The enum names against flow.proto (Verdict, FlowType, L7FlowType, IPVersion) and hubble's HTTP
/// protocol strings; the numbers are what the BPF programs write into records.
final class FlowEnumsTests: XCTestCase {
    func testVerdictNumbersAndNames() {
        let expected: [(UInt8, String)] = [
            (0, "VERDICT_UNKNOWN"), (1, "FORWARDED"), (2, "DROPPED"), (3, "ERROR"), (4, "AUDIT"), (5, "REDIRECTED"),
            (6, "TRACED"), (7, "TRANSLATED"),
        ]
        XCTAssertEqual(Flow.Verdict.allCases.map(\.rawValue), expected.map(\.0))
        for (number, name) in expected {
            XCTAssertEqual(Flow.Verdict(rawValue: number)?.name, name)
            XCTAssertEqual(Flow.Verdict(name: name)?.rawValue, number)
        }
        XCTAssertNil(Flow.Verdict(name: "dropped"), "names are case-sensitive, as hubble's")
        XCTAssertNil(Flow.Verdict(rawValue: 8))
    }

    func testOtherEnumNames() {
        XCTAssertEqual(Flow.FlowType.allCases.map(\.name), ["UNKNOWN_TYPE", "L3_L4", "L7", "SOCK"])
        XCTAssertEqual(Flow.L7FlowType.allCases.map(\.name), ["UNKNOWN_L7_TYPE", "REQUEST", "RESPONSE", "SAMPLE"])
        XCTAssertEqual(Flow.L7FlowType.allCases.map(\.rawValue), [0, 1, 2, 3])
        XCTAssertEqual(Flow.IPVersion.allCases.map(\.name), ["IP_NOT_USED", "IPv4", "IPv6"])
        XCTAssertEqual(
            Flow.L7Protocol.allCases.map(\.httpProtocolName), ["", "HTTP/1", "HTTP/1.1", "HTTP/2", "", "TLS"])
    }

    func testL7ProtocolRecordPart() {
        XCTAssertEqual(Flow.L7Protocol.allCases.map(\.record), [nil, .http, .http, .http, .dns, .http])
    }
}
