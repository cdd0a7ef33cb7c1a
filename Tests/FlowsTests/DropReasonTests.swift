import XCTest

@testable import Flows

/// Drop reason numbers against flow.proto's `DropReason` names and cilium's monitor texts.
final class DropReasonTests: XCTestCase {
    func testProtoNames() {
        XCTAssertEqual(DropReason(rawValue: 0).name, "DROP_REASON_UNKNOWN")
        XCTAssertEqual(DropReason(rawValue: 130).name, "INVALID_SOURCE_MAC")
        XCTAssertEqual(DropReason.policyDenied.name, "POLICY_DENIED")
        XCTAssertEqual(DropReason(rawValue: 158).name, "SERVICE_BACKEND_NOT_FOUND")
        XCTAssertEqual(DropReason(rawValue: 160).name, "NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT")
        XCTAssertEqual(DropReason.socketLookupFailed.name, "SOCKET_LOOKUP_FAILED")
        XCTAssertEqual(DropReason.policyDeny.name, "POLICY_DENY")
        XCTAssertEqual(DropReason.authRequired.name, "AUTH_REQUIRED")
        XCTAssertEqual(DropReason(rawValue: 198).name, "DROP_RATE_LIMITED")
    }

    func testNumbersWithoutANameHaveNone() {
        for number: UInt32 in [1, 129, 159, 199, 1000] {
            XCTAssertNil(DropReason(rawValue: number).name, "\(number)")
        }
    }

    func testMonitorTextOrTheNumber() {
        XCTAssertEqual(DropReason.policyDenied.text, "Policy denied")
        XCTAssertEqual(DropReason.policyDeny.text, "Policy denied by denylist")
        XCTAssertEqual(DropReason.invalidSourceIP.text, "Invalid source ip")
        XCTAssertEqual(DropReason.fragmentNotFound.text, "First logical datagram fragment not found")
        XCTAssertEqual(DropReason(rawValue: 130).text, "130")
        XCTAssertEqual(DropReason(rawValue: 0).text, "0")
    }

    func testDropReasonNamesAndTexts() {
        XCTAssertEqual(DropReason(rawValue: 133).name, "POLICY_DENIED")
        XCTAssertEqual(DropReason(rawValue: 181).name, "POLICY_DENY")
        XCTAssertEqual(DropReason(rawValue: 178).name, "SOCKET_LOOKUP_FAILED")
        XCTAssertEqual(DropReason(rawValue: 180).name, "PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL")
        XCTAssertEqual(DropReason(rawValue: 162).name, "REACHED_EDT_RATE_LIMITING_DROP_HORIZON")
        XCTAssertEqual(DropReason(rawValue: 189).name, "AUTH_REQUIRED")
        XCTAssertEqual(DropReason(rawValue: 198).name, "DROP_RATE_LIMITED")
        XCTAssertEqual(DropReason(rawValue: 0).name, "DROP_REASON_UNKNOWN")
        XCTAssertNil(DropReason(rawValue: 159).name)
        XCTAssertNil(DropReason(rawValue: 250).name)
        XCTAssertEqual(DropReason(name: "POLICY_DENY"), .policyDeny)
        XCTAssertEqual(DropReason.policyDenied.text, "Policy denied")
        XCTAssertEqual(DropReason.policyDeny.text, "Policy denied by denylist")
        XCTAssertEqual(DropReason(rawValue: 250).text, "250")
    }
}
