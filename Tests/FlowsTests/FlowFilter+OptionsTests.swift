import XCTest

@testable import Flows

/// The value of each option as FlowFilter+Options reads it: what is accepted, and hubble's message
/// for what is not.
final class FlowFilterOptionsTests: XCTestCase {
    private func refusal(_ option: FlowFilter.Option, _ value: String) -> String? {
        var filter = FlowFilter()
        do {
            try filter.add(option, value)
            return nil
        } catch {
            return error.description
        }
    }

    func testValuesAccepted() {
        let accepted: [(FlowFilter.Option, String)] = [
            (.label, "app=web"), (.fromIP, "10.0.0.0/8"), (.toIP, "fd00::1"), (.port, "65535"), (.identity, "world"),
            (.fromIdentity, "300"), (.fqdn, "*.example.com"), (.type, "trace:to-endpoint"), (.type, "drop:133"),
            (.type, "4"), (.httpPath, "^/api/.*$"), (.tcpFlags, "syn,ack,NS"), (.httpHeader, "x-id:1"),
            (.ipVersion, "v6"), (.ipVersion, "IP4"),
        ]
        for (option, value) in accepted {
            XCTAssertNil(refusal(option, value), "--\(option.rawValue) \(value)")
        }
    }

    func testValuesRefusedWithTheirMessage() {
        XCTAssertEqual(refusal(.ip, "10.0.0.0/33"), "invalid IP address or CIDR: 10.0.0.0/33")
        XCTAssertEqual(refusal(.toPort, "65536"), "invalid port: 65536")
        XCTAssertEqual(refusal(.identity, "nobody"), "invalid identity: nobody")
        XCTAssertEqual(refusal(.type, "bogus"), "invalid --type value: bogus")
        XCTAssertEqual(refusal(.type, "trace:nowhere"), "invalid --type value: trace:nowhere")
        XCTAssertEqual(refusal(.httpURL, "(unclosed"), "invalid regular expression for --http-url: (unclosed")
        XCTAssertEqual(
            refusal(.tcpFlags, "SYN,BOGUS"),
            "unknown TCP flag \"BOGUS\" in --tcp-flags SYN,BOGUS (SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, NS)")
        XCTAssertEqual(refusal(.httpHeader, "no-colon"), "invalid --http-header value, expected key:value: no-colon")
        XCTAssertEqual(refusal(.ipVersion, "5"), "invalid IP version filter argument: 5 (4 or 6)")
        XCTAssertTrue(refusal(.fqdn, "a b.com")?.hasPrefix("invalid FQDN in filter") ?? false)
    }

    func testMessageTypeNamesAreCiliums() {
        XCTAssertEqual(FlowFilter.messageTypes["drop"], 1)
        XCTAssertEqual(FlowFilter.messageTypes["trace"], 4)
        XCTAssertEqual(FlowFilter.messageTypes["policy-verdict"], 5)
        XCTAssertEqual(FlowFilter.messageTypes["l7"], 129)
        XCTAssertEqual(FlowFilter.messageTypes.count, 9)
    }
}
