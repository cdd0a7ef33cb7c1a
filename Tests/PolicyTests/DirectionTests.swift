import SluiceModel
import XCTest

@testable import Policy

/// Directions, L7 kinds and ports as the listings print and order them, and protocol names.
final class DirectionTests: XCTestCase {
    func testDirectionNamesAndTrafficMapping() {
        XCTAssertEqual(Direction.ingress.description, "INGRESS")
        XCTAssertEqual(Direction.egress.description, "EGRESS")
        XCTAssertEqual(Direction.ingress.traffic, .ingress)
        XCTAssertEqual(Direction.egress.traffic, .egress)
        XCTAssertEqual(L7Kind.http.description, "http")
        XCTAssertEqual(L7Kind.dns.description, "dns")
    }

    func testL7PortTextAndOrder() {
        let http = L7Port(endpointID: 12, port: 80, proto: IPProtocol.tcp, direction: .ingress, kind: .http)
        let dns = L7Port(endpointID: 12, port: 53, proto: IPProtocol.udp, direction: .egress, kind: .dns)
        let other = L7Port(endpointID: 12, port: 53, proto: 99, direction: .egress, kind: .dns)
        XCTAssertEqual(http.description, "endpoint 12 INGRESS 80/TCP http")
        XCTAssertEqual(dns.description, "endpoint 12 EGRESS 53/UDP dns")
        XCTAssertEqual(other.description, "endpoint 12 EGRESS 53/99 dns")
        let lowPortEgress = L7Port(endpointID: 12, port: 1, proto: IPProtocol.tcp, direction: .egress, kind: .http)
        let nextEndpoint = L7Port(endpointID: 13, port: 1, proto: IPProtocol.tcp, direction: .ingress, kind: .http)
        XCTAssertEqual(
            [nextEndpoint, dns, lowPortEgress, http].sorted(), [http, lowPortEgress, dns, nextEndpoint],
            "endpoint, then direction, then port")
        let dnsTCP = L7Port(endpointID: 12, port: 53, proto: IPProtocol.tcp, direction: .egress, kind: .dns)
        XCTAssertLessThan(dnsTCP, dns, "then protocol")
    }

    func testProtocolNames() {
        XCTAssertEqual(
            [6, 17, 132, 1, 58, 0, 47].map { IPProtocol.name($0) },
            ["TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "other", "47"])
    }
}
