import XCTest

@testable import Policy

/// The datapath's L3/L4 entries as the listings print and order them.
final class L3L4PolicyTests: XCTestCase {
    func testPolicyMapKeyText() {
        XCTAssertEqual(
            PolicyMapKey(endpointID: 3, identity: 257, port: 80, proto: 6, direction: .ingress).description,
            "endpoint 3 INGRESS from 257 80/TCP")
        XCTAssertEqual(
            PolicyMapKey(endpointID: 3, identity: 0, port: 0, proto: 17, direction: .egress).description,
            "endpoint 3 EGRESS to * */UDP")
        XCTAssertEqual(
            PolicyMapKey(endpointID: 3, identity: 2, port: ICMPType.policyPort(8), proto: 1, direction: .egress)
                .description,
            "endpoint 3 EGRESS to 2 type 8/ICMP")
        XCTAssertEqual(
            PolicyMapKey(endpointID: 3, identity: 2, port: ICMPType.policyPort(0), proto: 58, direction: .ingress)
                .description,
            "endpoint 3 INGRESS from 2 type 0/ICMPv6")
        XCTAssertEqual(
            PolicyMapKey(endpointID: 3, identity: 2, port: 0, proto: 0, direction: .ingress).description,
            "endpoint 3 INGRESS from 2 */other")
    }

    func testPolicyMapKeyOrder() {
        func key(_ endpoint: UInt32, _ direction: Direction, _ identity: UInt32, _ port: UInt16, _ proto: UInt8)
            -> PolicyMapKey
        {
            PolicyMapKey(endpointID: endpoint, identity: identity, port: port, proto: proto, direction: direction)
        }
        let ordered = [
            key(1, .egress, 9, 9, 9), key(2, .ingress, 9, 9, 9), key(2, .egress, 1, 9, 9),
            key(2, .egress, 2, 1, 9), key(2, .egress, 2, 2, 6), key(2, .egress, 2, 2, 17),
        ]
        XCTAssertEqual(ordered.reversed().sorted(), ordered)
    }

    func testActionsAndEnforcementText() {
        XCTAssertEqual(
            [PolicyMapAction.allow, .deny, .redirect(.http), .redirect(.dns)].map(\.description),
            ["allow", "deny", "redirect http", "redirect dns"])
        XCTAssertEqual(
            PolicyEnforcement(endpointID: 4, direction: .egress, defaultDeny: true).description,
            "endpoint 4 EGRESS default-deny")
        XCTAssertEqual(
            PolicyEnforcement(endpointID: 4, direction: .ingress, defaultDeny: false).description,
            "endpoint 4 INGRESS default-allow")
        XCTAssertLessThan(
            PolicyEnforcement(endpointID: 4, direction: .egress, defaultDeny: false),
            PolicyEnforcement(endpointID: 5, direction: .ingress, defaultDeny: true))
        XCTAssertLessThan(
            PolicyEnforcement(endpointID: 4, direction: .ingress, defaultDeny: true),
            PolicyEnforcement(endpointID: 4, direction: .egress, defaultDeny: false))
    }

    /// Addresses are kept in network byte order and ordered (and printed) as text reads them.
    func testIPCacheEntriesInNetworkOrder() {
        func entry(_ hostOrder: UInt32, _ length: UInt8, _ identity: UInt32) -> IPCacheEntry {
            IPCacheEntry(ipv4: hostOrder.bigEndian, prefixLength: length, identity: identity)
        }
        XCTAssertEqual(entry(0x0AF4_010B, 32, 257).description, "10.244.1.11/32 -> 257")
        XCTAssertEqual(entry(0xC000_0200, 24, 16_777_217).description, "192.0.2.0/24 -> 16777217")
        let ordered = [entry(0x0A00_0000, 8, 1), entry(0x0A00_0002, 32, 2), entry(0x0B00_0001, 32, 3)]
        XCTAssertEqual(ordered.reversed().sorted(), ordered)
        XCTAssertLessThan(entry(0x0A00_0000, 8, 1), entry(0x0A00_0000, 16, 1))
    }
}
